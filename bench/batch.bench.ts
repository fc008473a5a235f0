/**
 * `npm run bench:batch [-- --sizes 1m,2m] [--workers 1,2] [--wide]`: the batch layer end to end at
 * a shop's size. A seeded generated retail history (power-law popularity, clustered categories)
 * is loaded into the real archive (the archiver's own append, so the daily aggregate is kept as in
 * production), then real batch service processes take a run from POST /batch/runs to published.
 *
 * Reported per size and worker count: wall time and each phase, peak RSS of every batch process
 * (VmHWM) and of Postgres (private memory of its processes, sampled), rows written. The baseline,
 * measured in the same run on the same data: freezing the input and streaming it once through
 * node, the I/O floor that any run over this history pays. `--wide` adds the history that used to
 * hit the 2^24-entry Map ceiling: 3,400 shoppers × 100 distinct products.
 *
 * Figures go to reports/bench/batch.md and batch.json (the summary's shape), with phases, shards
 * and memory in batch-detail.md and batch-detail.json.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger, createPgPool, type PgPool } from '@lambdarec/clients';
import { DEFAULT_BATCH_POLICY } from '@lambdarec/domain';
import { createArchiveReader, createBatchRunsRepository, createEventArchive, runMigrations } from '@lambdarec/stores';
import type { ClickEvent } from '@lambdarec/contracts';
import { localInfrastructure } from '@lambdarec/local-stack';
import { asPartitionBatches, createTestDatabase, createTestTopic, retailHistory, wideHistory, type TestTopic } from '@lambdarec/testing';
import { startBatchProcess } from './batch-process.js';
import { REPORT_DIR, writeBenchReport, type BenchFigure } from './report.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1m,2m' },
    workers: { type: 'string', default: '1,2' },
    wide: { type: 'boolean', default: false },
  },
});
const SIZES: Record<string, { events: number; users: number; products: number }> = {
  // A slice for the benches' own test: proves the bench runs, says nothing about speed.
  '20k': { events: 20_000, users: 2_000, products: 500 },
  '100k': { events: 100_000, users: 10_000, products: 1_000 },
  '1m': { events: 1_000_000, users: 100_000, products: 10_000 },
  '2m': { events: 2_000_000, users: 200_000, products: 20_000 },
};
const log = createLogger({ name: 'bench', level: 'error' });
const say = (line: string) => process.stdout.write(`${line}\n`);
const ms = (value: number) => `${(value / 1000).toFixed(1)} s`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const infra = localInfrastructure();
const password = randomBytes(12).toString('base64url');
const auth = `Basic ${Buffer.from(`bench:${password}`).toString('base64')}`;

/** A /proc/<pid>/status field in bytes. */
const procStatus = (pid: number, field: string): number => {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
};

/** Postgres processes, found once a second: scanning /proc on every sample would cost the run CPU. */
let postgresPids: number[] = [];
let postgresPidsAt = 0;
const findPostgres = (): number[] => {
  if (Date.now() - postgresPidsAt < 1000) return postgresPids;
  postgresPidsAt = Date.now();
  postgresPids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') postgresPids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return postgresPids;
};

/** Private memory of all Postgres processes (shared buffers are counted once, separately). */
const postgresPrivateBytes = (): number => findPostgres().reduce((total, pid) => total + procStatus(pid, 'RssAnon'), 0);

interface Case {
  size: string;
  workers: number;
  events: number;
  users: number;
  products: number;
  loadMs: number;
  baselineMs: number;
  runMs: number;
  phaseMs: Record<string, number>;
  shards: { similarItems: number; userItems: number } | undefined;
  similarityPairs: number | undefined;
  rowsWritten: Record<string, number>;
  /** 503s from GET /batch/runs/:runId while the run was going (the machine saturated). */
  unavailableAnswers: number;
  peakRssPerProcess: number[];
  postgresPeakPrivate: number;
}

async function load(pool: PgPool, events: Iterable<ClickEvent>): Promise<number> {
  const archive = createEventArchive({ pool });
  const started = performance.now();
  let loaded = 0;
  for (const batch of asPartitionBatches(events, { topic: 'bench.events', batchSize: 5000 })) {
    loaded += await archive.append(batch);
    if (loaded % 200_000 < 5000) process.stdout.write(`\r  loading: ${loaded.toLocaleString('en')} events`);
  }
  process.stdout.write('\n');
  return performance.now() - started;
}

/** The I/O floor: freeze the input and stream it once through node. */
async function baseline(pool: PgPool): Promise<number> {
  const runs = createBatchRunsRepository({ pool });
  const reader = createArchiveReader({ pool });
  const runId = randomUUID();
  await runs.create({ runId, trigger: 'bench-baseline' });
  const started = performance.now();
  await reader.freezeInput(runId, { historyDays: 365, maxItemsPerUser: DEFAULT_BATCH_POLICY.maxItemsPerUser, now: Date.now() });
  let rows = 0;
  for await (const user of reader.users(runId)) rows += user.rows.length;
  if (rows === 0) throw new Error('the baseline read no rows');
  const elapsed = performance.now() - started;
  await reader.dropInput(runId);
  await runs.markFailed(runId, 'bench baseline');
  return elapsed;
}

async function startBatch(databaseUrl: string, queue: string, topic: string): Promise<{ url: string; child: ChildProcess }> {
  return startBatchProcess({
    DATABASE_URL: databaseUrl,
    REDIS_URL: infra['REDIS_URL']!,
    KAFKA_BROKERS: infra['KAFKA_BROKERS']!,
    EVENTS_TOPIC: topic,
    ARCHIVE_GROUP_ID: `${queue}-archive`,
    BATCH_QUEUE: queue,
    BATCH_CRON: '0 0 1 1 *',
    DASHBOARD_USER: 'bench',
    DASHBOARD_PASSWORD: password,
    // Shard settings to compare (BATCH_MIN_SHARDS=4 npm run bench:batch …) reach the workers.
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => /^BATCH_(SHARD|MIN|WORKER|HISTORY)/.test(name))),
  });
}

async function runOnce(
  databaseUrl: string,
  pool: PgPool,
  workers: number,
): Promise<Omit<Case, 'size' | 'events' | 'users' | 'products' | 'loadMs' | 'baselineMs'>> {
  const queue = `bench-batch-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const processes = [];
  for (let i = 0; i < workers; i++) processes.push(await startBatch(databaseUrl, queue, topic.topic));
  let postgresPeakPrivate = postgresPrivateBytes();
  const sampler = setInterval(() => (postgresPeakPrivate = Math.max(postgresPeakPrivate, postgresPrivateBytes())), 500);
  try {
    const started = performance.now();
    const res = await fetch(`${processes[0]!.url}/batch/runs`, { method: 'POST', headers: { authorization: auth } });
    if (res.status !== 202) throw new Error(`POST /batch/runs answered ${res.status}: ${await res.text()}`);
    const { runId } = (await res.json()) as { runId: string };
    let unavailable = 0;
    let run: {
      status: string;
      stats: Record<string, unknown>;
      progress: { phase: string; shardsDone: number; shardsTotal: number } | null;
    };
    for (;;) {
      const answer = await fetch(`${processes[0]!.url}/batch/runs/${runId}`, { headers: { authorization: auth } });
      if (!answer.ok) {
        // With both cores saturated, a new Postgres connection can take longer than the pool's
        // 3 s connect timeout: the API answers 503 for a moment. Count it, poll again.
        if (++unavailable > 40) throw new Error(`GET /batch/runs/${runId} answered ${answer.status}: ${await answer.text()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      run = (await answer.json()) as typeof run;
      const progress = run.progress === null ? '' : `${run.progress.phase} ${run.progress.shardsDone}/${run.progress.shardsTotal}`;
      process.stdout.write(`\r  ${workers} worker(s): ${ms(performance.now() - started)} ${progress}`.padEnd(60));
      if (run.status === 'succeeded' || run.status === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const runMs = performance.now() - started;
    process.stdout.write('\n');
    if (run.status !== 'succeeded') throw new Error(`the run failed: ${JSON.stringify(run.stats)}`);
    const rowsWritten: Record<string, number> = {};
    for (const table of ['rec_user_items', 'rec_similar_items', 'rec_repurchase']) {
      rowsWritten[table] = (
        await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE run_id = $1`, [runId])
      ).rows[0]!.n;
    }
    return {
      workers,
      runMs,
      phaseMs: (run.stats['phaseMs'] ?? {}) as Record<string, number>,
      shards: run.stats['shards'] as Case['shards'],
      similarityPairs: run.stats['similarityPairs'] as number | undefined,
      rowsWritten,
      unavailableAnswers: unavailable,
      peakRssPerProcess: processes.map(({ child }) => procStatus(child.pid!, 'VmHWM')),
      postgresPeakPrivate,
    };
  } finally {
    clearInterval(sampler);
    await Promise.all(processes.map(({ child }) => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')))));
  }
}

// The batch processes' archivers need a topic; nothing is produced to it.
const topic: TestTopic = await createTestTopic(infra['KAFKA_BROKERS']!.split(','), { partitions: 2 });
const cases: Case[] = [];
const histories: Array<{ size: string; shape: { events: number; users: number; products: number }; events: () => Iterable<ClickEvent> }> =
  [];
for (const size of args.sizes!.split(',').filter(Boolean)) {
  const shape = SIZES[size];
  if (shape === undefined) throw new Error(`unknown size ${size}; known: ${Object.keys(SIZES).join(', ')}`);
  histories.push({ size, shape, events: () => retailHistory({ ...shape, seed: 7 }) });
}
if (args.wide) {
  const shape = { events: 340_000, users: 3_400, products: 10_000 };
  histories.push({
    size: 'wide 3,400 × 100',
    shape,
    events: () => wideHistory({ users: 3_400, productsPerUser: 100, products: 10_000, seed: 7 }),
  });
}

for (const { size, shape, events } of histories) {
  say(
    `${size}: ${shape.events.toLocaleString('en')} events, ${shape.users.toLocaleString('en')} users, ${shape.products.toLocaleString('en')} products`,
  );
  const db = await createTestDatabase(infra['DATABASE_URL']!, (url) => runMigrations({ databaseUrl: url, log }));
  const pool = createPgPool({ url: db.url, log, applicationName: 'bench' });
  try {
    const loadMs = await load(pool, events());
    await pool.query('VACUUM ANALYZE event_daily');
    const baselineMs = await baseline(pool);
    say(`  loaded in ${ms(loadMs)}; baseline (freeze + stream the input once) ${ms(baselineMs)}`);
    for (const workers of args.workers!.split(',').map(Number)) {
      const result = await runOnce(db.url, pool, workers);
      cases.push({ size, ...shape, loadMs, baselineMs, ...result });
      say(
        `  ${workers} worker(s): ${ms(result.runMs)} (${(result.runMs / baselineMs).toFixed(1)}× baseline), ` +
          `phases ${['freeze-input', 'user-lists', 'similar-items', 'user-items'].map((phase) => `${phase} ${ms(result.phaseMs[phase] ?? 0)}`).join(', ')}; ` +
          `peak RSS ${result.peakRssPerProcess.map(mb).join(' + ')}, Postgres private ${mb(result.postgresPeakPrivate)}`,
      );
    }
  } finally {
    await pool.end();
    await db.drop();
  }
}

await topic.remove();
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${mb(totalmem())} RAM, Node ${process.version}`;
const lines = [
  '# Batch layer benchmark',
  '',
  `Machine: ${machine}. Run ${new Date().toISOString()}.`,
  '',
  '| history | workers | load | baseline | run | run / baseline | freeze | user lists | similar items | user items | publish and polling | shards (sim/user) | pairs | peak RSS per process | Postgres private peak |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...cases.map(
    (c) =>
      `| ${c.size} | ${c.workers} | ${ms(c.loadMs)} | ${ms(c.baselineMs)} | **${ms(c.runMs)}** | ${(c.runMs / c.baselineMs).toFixed(1)}× | ` +
      `${ms(c.phaseMs['freeze-input'] ?? 0)} | ${ms(c.phaseMs['user-lists'] ?? 0)} | ${ms(c.phaseMs['similar-items'] ?? 0)} | ${ms(c.phaseMs['user-items'] ?? 0)} | ` +
      `${ms(c.runMs - ['freeze-input', 'user-lists', 'similar-items', 'user-items'].reduce((sum, phase) => sum + (c.phaseMs[phase] ?? 0), 0))} | ` +
      `${c.shards?.similarItems ?? '?'}/${c.shards?.userItems ?? '?'} | ${(c.similarityPairs ?? 0).toLocaleString('en')} | ${c.peakRssPerProcess.map(mb).join(' + ')} | ${mb(c.postgresPeakPrivate)} |`,
  ),
  '',
  `503 answers to the progress poll: ${cases.map((c) => `${c.size}/${c.workers}w ${c.unavailableAnswers}`).join(', ')}.`,
  '',
  'Rows written per run: ' +
    cases
      .map(
        (c) =>
          `${c.size}/${c.workers}w ${Object.entries(c.rowsWritten)
            .map(([t, n]) => `${t} ${n.toLocaleString('en')}`)
            .join(', ')}`,
      )
      .join('; '),
];
const byKey = new Map(cases.map((c) => [`${c.size}/${c.workers}`, c]));
const figures: BenchFigure[] = cases.map((c) => ({
  label: `run of ${c.size}, ${c.workers} worker(s)`,
  value: c.runMs / 1000,
  unit: 's',
  baseline: { label: 'freeze + stream the input once', value: c.baselineMs / 1000, unit: 's' },
  ratio: c.runMs / c.baselineMs,
}));
for (const workers of new Set(cases.map((c) => c.workers))) {
  const one = byKey.get(`1m/${workers}`);
  const two = byKey.get(`2m/${workers}`);
  if (one === undefined || two === undefined) continue;
  lines.push('', `2M / 1M run time with ${workers} worker(s): ${(two.runMs / one.runMs).toFixed(2)}×`);
  figures.push({
    label: `2M run time, ${workers} worker(s)`,
    value: two.runMs / 1000,
    unit: 's',
    baseline: { label: '1M run time', value: one.runMs / 1000, unit: 's' },
    ratio: two.runMs / one.runMs,
    goal: '≤ 2.2×',
    met: two.runMs / one.runMs <= 2.2,
  });
}
// The detailed table (phases, shards, memory) stays in batch-detail.*; the summary gets the figures.
mkdirSync(REPORT_DIR, { recursive: true });
writeFileSync(`${REPORT_DIR}/batch-detail.md`, `${lines.join('\n')}\n`);
writeFileSync(`${REPORT_DIR}/batch-detail.json`, `${JSON.stringify({ machine, cases }, null, 2)}\n`);
writeBenchReport({
  name: 'batch',
  setup: `Synthetic retail histories (${histories.map((h) => h.size).join(', ')}), a whole batch run through the BullMQ flow with ${args.workers} worker process(es); phases in batch-detail.md.`,
  figures,
});
say('');
say(lines.join('\n'));
