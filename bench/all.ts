/**
 * `npm run bench`: every benchmark, one after another (they would only disturb each other on a
 * 2-core machine), then one table of their figures and ratios in reports/bench/summary.md and
 * summary.json, with a description of the machine.
 *
 * Each bench runs as its own process, as `npm run bench:<name>` would, and writes
 * reports/bench/<name>.json in the shape of report.ts. A bench that fails is reported as failed in
 * the table and makes the command exit non-zero, after the others have run.
 *
 * Options: --only a,b (names below), --quick (small sizes: a check that the benches still run,
 * not figures to quote).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WORKSPACE_ROOT } from '@lambdarec/local-stack';
import { describeMachine, figureRows, REPORT_DIR, TABLE_HEADER, type BenchReport } from './report.js';

interface BenchPlan {
  name: string;
  script: string;
  args: string[];
  quickArgs: string[];
  env?: Record<string, string>;
  quickEnv?: Record<string, string>;
}

/** In the order a reader wants them: what a shopper feels first, then capacity and memory. */
const BENCHES: BenchPlan[] = [
  { name: 'freshness', script: 'freshness.bench.ts', args: [], quickArgs: ['--trials', '40', '--max-seconds', '2'] },
  {
    name: 'serving',
    script: 'serving.bench.ts',
    args: [],
    quickArgs: ['--users', '2000', '--products', '500', '--rounds', '1'],
    quickEnv: { BENCH_SECONDS: '3' },
  },
  { name: 'speed', script: 'speed.bench.ts', args: [], quickArgs: ['--events', '30000', '--users', '3000', '--burst', '10000'] },
  { name: 'session-memory', script: 'session-memory.bench.ts', args: [], quickArgs: ['--sessions', '5000'] },
  { name: 'ingest', script: 'ingest.bench.ts', args: [], quickArgs: [], quickEnv: { BENCH_SECONDS: '3' } },
  { name: 'archive', script: 'archive.bench.ts', args: [], quickArgs: ['--events', '20000', '--users', '2000', '--products', '500'] },
  {
    name: 'batch',
    script: 'batch.bench.ts',
    args: ['--sizes', '1m,2m', '--workers', '1,2'],
    quickArgs: ['--sizes', '20k', '--workers', '1'],
  },
  {
    name: 'experiment-report',
    script: 'experiment-report.bench.ts',
    args: [],
    quickArgs: ['--lists', '3000', '--users', '500', '--rounds', '1'],
  },
  // Statistics, not the machine: in process and seeded, so it may run last on a busy machine.
  { name: 'experiments', script: 'experiments.bench.ts', args: [], quickArgs: ['--quick'] },
];

const { values: options } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean', default: false } } });
const only = options.only?.split(',').filter(Boolean);
const unknown = only?.filter((name) => !BENCHES.some((b) => b.name === name)) ?? [];
if (unknown.length > 0) throw new Error(`unknown bench ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
const plans = BENCHES.filter((b) => only === undefined || only.includes(b.name));
const say = (line: string) => process.stdout.write(`${line}\n`);

function run(plan: BenchPlan): Promise<number> {
  const args = options.quick ? plan.quickArgs : plan.args;
  const env = { ...process.env, ...plan.env, ...(options.quick ? plan.quickEnv : {}) };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(WORKSPACE_ROOT, 'bench', plan.script), ...args], {
      cwd: WORKSPACE_ROOT,
      env,
      stdio: 'inherit',
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

const machine = describeMachine();
const outcomes: Array<{ plan: BenchPlan; exitCode: number; report?: BenchReport; seconds: number }> = [];
for (const plan of plans) {
  const file = path.join(REPORT_DIR, `${plan.name}.json`);
  // A stale report from an earlier run must not pass for this one's.
  rmSync(file, { force: true });
  say(`\n=== bench:${plan.name}${options.quick ? ' (quick)' : ''} ===`);
  const started = performance.now();
  const exitCode = await run(plan);
  const seconds = (performance.now() - started) / 1000;
  const report = exitCode === 0 && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BenchReport) : undefined;
  outcomes.push({ plan, exitCode, seconds, report });
}

const failed = outcomes.filter((o) => o.report === undefined);
const lines = [
  '# lambdarec benchmarks',
  '',
  `Machine: ${machine}. Run ${new Date().toISOString()}${options.quick ? ' with --quick (small sizes: not figures to quote)' : ''}.`,
  '',
  'Ratios compare with a baseline measured in the same run on the same machine; absolute figures move with the machine and its load.',
  '',
  ...TABLE_HEADER,
  ...outcomes.flatMap((o) =>
    o.report === undefined ? [`| ${o.plan.name} | failed (exit ${o.exitCode}) | | | | |`] : figureRows(o.report).map((row) => `| ${row} |`),
  ),
  '',
  '## Setups',
  '',
  ...outcomes.filter((o) => o.report !== undefined).map((o) => `- **${o.plan.name}** (${o.seconds.toFixed(0)} s): ${o.report!.setup}`),
];
writeFileSync(path.join(REPORT_DIR, 'summary.md'), `${lines.join('\n')}\n`);
writeFileSync(
  path.join(REPORT_DIR, 'summary.json'),
  `${JSON.stringify({ machine, at: new Date().toISOString(), quick: options.quick, benches: outcomes.map((o) => ({ name: o.plan.name, exitCode: o.exitCode, seconds: o.seconds, report: o.report ?? null })) }, null, 2)}\n`,
);
say(`\n${lines.join('\n')}`);
if (failed.length > 0) {
  say(`\nfailed: ${failed.map((o) => o.plan.name).join(', ')}`);
  process.exitCode = 1;
}
