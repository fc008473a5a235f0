/**
 * `node --import tsx bench/archive.bench.ts [--events 300000 --users 30000 --products 3000 --batch 2000]`
 * (or `npm run bench -- --only archive`): rows a
 * second the archiver writes into Postgres (`createEventArchive().append`, the statement
 * apps/batch's archiver runs per consumed batch: insert into `events` ignoring known ids, add the
 * new ones to `event_daily`, move `archive_offsets`, in one transaction), against two baselines
 * measured in the same run on the same events: a plain multi-row INSERT (unnest of arrays, one
 * statement and one transaction per batch, no conflict check, no aggregate, no offsets) and COPY,
 * each into a copy of `events` with the same columns and indexes (`LIKE events INCLUDING ALL`).
 *
 * The events are a seeded retail history dated within the last day (as a live archiver sees
 * them), with random v4 event ids, as clients send them. One writer, in batches of `--batch`, as
 * one archiver process handles one partition's batch at a time. Besides the wall rate, the CPU
 * of the bench's Postgres backends (/proc, by application_name) is reported per row: the rate one
 * Postgres core could take, which the shared machine's wall rate hides. WAL writer, checkpointer
 * and fsync are not in it.
 *
 * The plain INSERT runs before and after the archiver, and the baseline is the mean of the two: a
 * machine shared with other work drifts within a run.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createLogger, createPgPool, withTransaction, type PgPool } from '@lambdarec/clients';
import { productEventsOf, type ConsumedProductEvent, type PartitionBatch } from '@lambdarec/contracts';
import { copyRows, createEventArchive, runMigrations } from '@lambdarec/stores';
import { localInfrastructure } from '@lambdarec/local-stack';
import { asPartitionBatches, createTestDatabase, retailHistory } from '@lambdarec/testing';
import { processCpuSeconds } from './cpu-time.js';
import { writeBenchReport, type BenchFigure } from './report.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '300000' },
    users: { type: 'string', default: '30000' },
    products: { type: 'string', default: '3000' },
    /** Events per append: one consumed Kafka batch of one partition. */
    batch: { type: 'string', default: '2000' },
  },
});
const EVENTS = Number(args.events);
const USERS = Number(args.users);
const PRODUCTS = Number(args.products);
const BATCH = Number(args.batch);
const APP = 'bench-archive';
const log = createLogger({ name: 'bench', level: 'error' });
const say = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const COLUMNS = [
  'event_id',
  'user_id',
  'session_id',
  'type',
  'product_id',
  'category',
  'event_time',
  'value',
  'kafka_topic',
  'kafka_partition',
  'kafka_offset',
  'arrived_at',
] as const;

/** The history as consumed batches, built once so that every pass writes the same rows. */
function buildBatches(): PartitionBatch[] {
  const events = [...retailHistory({ events: EVENTS, users: USERS, products: PRODUCTS, days: 1, end: Date.now(), seed: 5 })].map(
    (event) => ({ ...event, eventId: randomUUID() }),
  );
  return [...asPartitionBatches(events, { topic: 'bench.archive', batchSize: BATCH })].map((batch) => ({
    ...batch,
    // Arrivals as a live archiver records them (imports have none).
    events: batch.events.map((e) => ({ ...e, imported: false })),
  }));
}

/** CPU seconds of this bench's Postgres backends so far (those connected under APP). */
async function backendCpu(pool: PgPool): Promise<number> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [APP]);
  return rows.reduce((sum, { pid }) => sum + (processCpuSeconds(pid) ?? 0), 0);
}

interface Pass {
  rowsPerSecond: number;
  /** Microseconds of Postgres backend CPU per row. */
  backendUs: number;
}

async function timed(pool: PgPool, rows: number, write: () => Promise<void>): Promise<Pass> {
  // Open the connection first so its backend is counted from the start.
  await pool.query('SELECT 1');
  const cpuBefore = await backendCpu(pool);
  const began = performance.now();
  await write();
  const seconds = (performance.now() - began) / 1000;
  const cpuAfter = await backendCpu(pool);
  return { rowsPerSecond: rows / seconds, backendUs: ((cpuAfter - cpuBefore) * 1e6) / rows };
}

const row = (batch: PartitionBatch, e: ConsumedProductEvent) => [
  e.event.eventId,
  e.event.userId,
  e.event.sessionId ?? null,
  e.event.type,
  e.event.productId,
  e.event.category ?? null,
  e.eventTime.toISOString(),
  e.event.value ?? null,
  batch.topic,
  batch.partition,
  e.offset,
  e.arrivedAt.toISOString(),
];

/** The baseline: one multi-row INSERT per batch into a table shaped like `events`. */
async function plainInsert(pool: PgPool, table: string, batches: readonly PartitionBatch[]): Promise<void> {
  for (const batch of batches) {
    const columns = COLUMNS.map((_, i) => productEventsOf(batch.events).map((e) => row(batch, e)[i]));
    await withTransaction(pool, (client) =>
      client.query(
        `INSERT INTO ${table} (${COLUMNS.join(', ')})
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
                              $8::float8[], $9::text[], $10::int[], $11::bigint[], $12::timestamptz[])`,
        columns,
      ),
    );
  }
}

/** The floor: COPY per batch into a table shaped like `events`. */
async function plainCopy(pool: PgPool, table: string, batches: readonly PartitionBatch[]): Promise<void> {
  for (const batch of batches) {
    await withTransaction(pool, (client) =>
      copyRows(
        client,
        table,
        COLUMNS,
        productEventsOf(batch.events).map((e) => row(batch, e) as Array<string | number | null>),
      ),
    );
  }
}

const infra = localInfrastructure();
const db = await createTestDatabase(infra['DATABASE_URL']!, (url) => runMigrations({ databaseUrl: url, log }));
const pool = createPgPool({ url: db.url, log, max: 1, applicationName: APP });
try {
  const began = performance.now();
  const batches = buildBatches();
  const rows = batches.reduce((sum, b) => sum + b.events.length, 0);
  say(
    `${fmt(rows)} events of ${fmt(USERS)} users in batches of ${fmt(BATCH)}, built in ${((performance.now() - began) / 1000).toFixed(1)} s (setup)`,
  );
  for (const table of ['plain_insert_a', 'plain_insert_b', 'plain_copy'])
    await pool.query(`CREATE TABLE ${table} (LIKE events INCLUDING ALL)`);

  const insertBefore = await timed(pool, rows, () => plainInsert(pool, 'plain_insert_a', batches));
  say(
    `plain multi-row INSERT      ${fmt(insertBefore.rowsPerSecond).padStart(8)} rows/s  backend ${insertBefore.backendUs.toFixed(1)} µs/row`,
  );
  const copy = await timed(pool, rows, () => plainCopy(pool, 'plain_copy', batches));
  say(`COPY                        ${fmt(copy.rowsPerSecond).padStart(8)} rows/s  backend ${copy.backendUs.toFixed(1)} µs/row`);
  const archive = createEventArchive({ pool });
  let inserted = 0;
  const archiver = await timed(pool, rows, async () => {
    for (const batch of batches) inserted += await archive.append(batch);
  });
  if (inserted !== rows) throw new Error(`the archiver inserted ${inserted} of ${rows} events`);
  say(`archiver append             ${fmt(archiver.rowsPerSecond).padStart(8)} rows/s  backend ${archiver.backendUs.toFixed(1)} µs/row`);
  // Redelivery: the same batches again, every event already known.
  const redelivered = await timed(pool, rows, async () => {
    for (const batch of batches) await archive.append(batch);
  });
  say(
    `archiver, redelivered batch ${fmt(redelivered.rowsPerSecond).padStart(8)} rows/s  backend ${redelivered.backendUs.toFixed(1)} µs/row`,
  );
  const insertAfter = await timed(pool, rows, () => plainInsert(pool, 'plain_insert_b', batches));
  say(
    `plain multi-row INSERT again ${fmt(insertAfter.rowsPerSecond).padStart(7)} rows/s  backend ${insertAfter.backendUs.toFixed(1)} µs/row`,
  );

  const { rows: daily } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM event_daily');
  // On-disk bytes, indexes included, for the archive's growth (after the redelivery, which adds no rows).
  const { rows: sizes } = await pool.query<{ events: string; daily: string }>(
    "SELECT pg_total_relation_size('events')::text AS events, pg_total_relation_size('event_daily')::text AS daily",
  );
  const eventBytes = Number(sizes[0]!.events) / rows;
  const dailyBytes = Number(sizes[0]!.daily) / Math.max(1, daily[0]?.n ?? 0);
  say(
    `on disk with indexes: events ${fmt(eventBytes)} B/row, event_daily ${fmt(dailyBytes)} B/row, ${((daily[0]?.n ?? 0) / rows).toFixed(2)} daily rows per event`,
  );
  const insertRate = (insertBefore.rowsPerSecond + insertAfter.rowsPerSecond) / 2;
  const insertUs = (insertBefore.backendUs + insertAfter.backendUs) / 2;
  const ratio = archiver.rowsPerSecond / insertRate;
  say(`ratio archiver / plain INSERT: ${ratio.toFixed(2)}; archiver / COPY: ${(archiver.rowsPerSecond / copy.rowsPerSecond).toFixed(2)}`);
  say(
    `one Postgres core at the archiver's backend CPU: ${fmt(1e6 / archiver.backendUs)} rows/s (plain INSERT ${fmt(1e6 / insertUs)}, COPY ${fmt(1e6 / copy.backendUs)})`,
  );

  const figures: BenchFigure[] = [
    {
      label: `archiver append, ${fmt(rows)} events in batches of ${fmt(BATCH)}`,
      value: archiver.rowsPerSecond,
      unit: 'rows/s',
      baseline: { label: 'plain multi-row INSERT into a table like events', value: insertRate, unit: 'rows/s' },
      ratio,
    },
    {
      label: 'archiver append against COPY',
      value: archiver.rowsPerSecond,
      unit: 'rows/s',
      baseline: { label: 'COPY into a table like events', value: copy.rowsPerSecond, unit: 'rows/s' },
      ratio: archiver.rowsPerSecond / copy.rowsPerSecond,
    },
    {
      label: 'archiver append, rows/s one Postgres core could take (1 / backend CPU per row)',
      value: 1e6 / archiver.backendUs,
      unit: 'rows/s',
      baseline: { label: 'plain multi-row INSERT, the same', value: 1e6 / insertUs, unit: 'rows/s' },
      ratio: insertUs / archiver.backendUs,
    },
  ];
  const markdown = writeBenchReport({
    name: 'archive',
    setup:
      `${fmt(rows)} events of ${fmt(USERS)} users and ${fmt(PRODUCTS)} products within the last day, random event ids, one writer, batches of ${fmt(BATCH)}; ` +
      'the archiver (createEventArchive().append) against a plain multi-row INSERT and COPY into tables LIKE events INCLUDING ALL, in this run.',
    figures,
    notes: [
      `Plain INSERT before and after the archiver: ${fmt(insertBefore.rowsPerSecond)} and ${fmt(insertAfter.rowsPerSecond)} rows/s; the baseline is their mean.`,
      `Postgres backend CPU per row: plain INSERT ${insertBefore.backendUs.toFixed(1)} and ${insertAfter.backendUs.toFixed(1)} µs, COPY ${copy.backendUs.toFixed(1)} µs, ` +
        `archiver ${archiver.backendUs.toFixed(1)} µs, archiver on a redelivered batch ${redelivered.backendUs.toFixed(1)} µs (WAL writer, checkpointer and fsync not included).`,
      `Redelivered batches (every event known): ${fmt(redelivered.rowsPerSecond)} rows/s.`,
      `event_daily afterwards: ${fmt(daily[0]?.n ?? 0)} rows for ${fmt(rows)} events (${((daily[0]?.n ?? 0) / rows).toFixed(2)} per event).`,
      `On disk, indexes included (pg_total_relation_size): events ${fmt(eventBytes)} bytes a row, event_daily ${fmt(dailyBytes)} bytes a row.`,
    ],
  });
  say('');
  say(markdown);
} finally {
  await pool.end();
  await db.drop();
}
