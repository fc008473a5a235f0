/**
 * `npm test`: no import cycles (madge), prettier's layout, then lint, typecheck, every project's tests and the app
 * bundles through Nx (real Kafka, Postgres and Redis
 * are started by the test global setup), then one plain `N passed, N failed, N skipped` line
 * counted from the vitest JSON reports, for people and log readers alike.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const reportDir = path.join(root, 'reports/vitest');
rmSync(reportDir, { recursive: true, force: true });

// Module cycles inside projects (Nx's boundary rule sees only cycles between projects).
const madge = spawnSync('npx', ['madge', '--circular', '--extensions', 'ts', '--ts-config', 'tsconfig.base.json', 'apps', 'libs', 'e2e'], {
  cwd: root,
  stdio: 'inherit',
});

// Layout is prettier's: a file it would format differently fails the run, as lint would.
const format = spawnSync('npx', ['prettier', '--check', '--log-level', 'warn', '.'], { cwd: root, stdio: 'inherit' });

const targets = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['lint', 'typecheck', 'test', 'build'];
const nx = spawnSync('npx', ['nx', 'run-many', '-t', ...targets, '--skip-nx-cache', '--outputStyle=static', '--parallel=2'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NX_TUI: 'false', NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
});

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

let passed = 0;
let failed = 0;
let skipped = 0;
const reports = existsSync(reportDir) ? readdirSync(reportDir).filter((file) => file.endsWith('.json')) : [];
for (const file of reports) {
  const report = JSON.parse(readFileSync(path.join(reportDir, file), 'utf8')) as VitestReport;
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
}
process.stdout.write(
  `\nvitest reports: ${
    reports
      .map((file) => file.replace('.json', ''))
      .sort()
      .join(', ') || 'none'
  }\n`,
);
if (madge.status !== 0) process.stdout.write('madge found a circular import (see above)\n');
if (format.status !== 0) process.stdout.write('prettier would format the files above differently: npm run format\n');
if (nx.status !== 0)
  process.stdout.write(`Nx exited with status ${nx.status}: a task failed (lint, typecheck, test or build; see above)\n`);
process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exitCode = madge.status !== 0 || format.status !== 0 || nx.status !== 0 || failed > 0 || reports.length === 0 ? 1 : 0;
