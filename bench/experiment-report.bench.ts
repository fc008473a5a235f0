/**
 * `npm run bench:experiment-report [-- --lists 200000 --users 20000]`: how long the batch service
 * takes to answer `GET /experiments/:id/report` for an experiment that has served `--lists` lists
 * of 10 (with clicks, carts and purchases, some attributed through a click), against the floor of
 * reading the same rows: one plain count over the experiment's range of each table, in the same
 * run. The report also attributes, tallies per user and variant, and computes its intervals.
 *
 * The archive is written straight into Postgres (what the archiver would write: the bench measures
 * the report, not the pipeline); the batch service runs as a process, as in production.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createLogger, createPgPool, type PgPool } from '@lambdarec/clients';
import type { ExperimentReport } from '@lambdarec/contracts';
import { assignVariant, encodeRecommendationId, recommendationIdRange, seededRandom } from '@lambdarec/domain';
import { localInfrastructure } from '@lambdarec/local-stack';
import { createExperimentRepository, runMigrations } from '@lambdarec/stores';
import { createTestDatabase, createTestTopic } from '@lambdarec/testing';
import { startBatchProcess } from './batch-process.js';
import { writeBenchReport } from './report.js';

const { values: args } = parseArgs({
  options: {
    lists: { type: 'string', default: '200000' },
    users: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
  },
});
const LISTS = Number(args.lists);
const USERS = Number(args.users);
const ROUNDS = Number(args.rounds);
const LIST_LENGTH = 10;
const PRODUCTS = 2_000;
const CHUNK = 5_000;
const EXPERIMENT = 'bench-report';
const log = createLogger({ name: 'bench', level: 'error' });
const say = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface Tallies {
  lists: number;
  clicks: number;
  carts: number;
  purchases: number;
}

/** Lists shown over the last six hours, a quarter of them clicked, carts and purchases after some clicks. */
async function writeArchive(pool: PgPool, tag: number, variants: readonly number[]): Promise<Tallies> {
  const random = seededRandom(17);
  const pick = (n: number) => Math.floor(random() * n);
  const now = Date.now();
  const tallies: Tallies = { lists: 0, clicks: 0, carts: 0, purchases: 0 };
  let offset = 0;
  for (let start = 0; start < LISTS; start += CHUNK) {
    const lists: [string, string, string, string, string][] = [];
    const events: [string, string, string, string, string, number | null, string | null, number | null, number][] = [];
    for (let i = start; i < Math.min(LISTS, start + CHUNK); i++) {
      const userId = `u${pick(USERS)}`;
      const id = encodeRecommendationId(randomBytes(16), { tag, variantIndex: assignVariant(EXPERIMENT, userId, variants) });
      const products = Array.from({ length: LIST_LENGTH }, () => `p${pick(PRODUCTS)}`);
      const shownAt = now - pick(6 * 3_600_000);
      lists.push([randomUUID(), userId, id, products.join(','), new Date(shownAt).toISOString()]);
      if (random() >= 0.25) continue;
      const position = pick(LIST_LENGTH);
      const at = (ms: number) => new Date(shownAt + ms).toISOString();
      events.push([randomUUID(), userId, 'click', products[position]!, at(5_000), null, id, position, offset++]);
      tallies.clicks++;
      if (random() >= 0.3) continue;
      events.push([randomUUID(), userId, 'add_to_cart', products[position]!, at(20_000), null, id, position, offset++]);
      tallies.carts++;
      if (random() >= 0.3) continue;
      // Half the purchases carry the list's id; the others are found through the click.
      const own = random() < 0.5;
      events.push([
        randomUUID(),
        userId,
        'purchase',
        products[position]!,
        at(60_000),
        10,
        own ? id : null,
        own ? position : null,
        offset++,
      ]);
      tallies.purchases++;
    }
    tallies.lists += lists.length;
    await pool.query(
      `INSERT INTO impressions (event_id, user_id, recommendation_id, product_ids, event_time, kafka_topic, kafka_partition, kafka_offset)
       SELECT u.event_id, u.user_id, u.recommendation_id, string_to_array(u.ids, ','), u.event_time, 'bench', 0, 0
       FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::timestamptz[]) AS u(event_id, user_id, recommendation_id, ids, event_time)`,
      [0, 1, 2, 3, 4].map((column) => lists.map((row) => row[column])),
    );
    if (events.length > 0) {
      await pool.query(
        `INSERT INTO events (event_id, user_id, type, product_id, event_time, value, recommendation_id, position,
                             kafka_topic, kafka_partition, kafka_offset)
         SELECT u.event_id, u.user_id, u.type, u.product_id, u.event_time, u.value, u.recommendation_id, u.position, 'bench', 0, u.kafka_offset
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::float8[], $7::uuid[], $8::int[], $9::bigint[])
              AS u(event_id, user_id, type, product_id, event_time, value, recommendation_id, position, kafka_offset)`,
        [0, 1, 2, 3, 4, 5, 6, 7, 8].map((column) => events.map((row) => row[column])),
      );
    }
  }
  await pool.query('ANALYZE impressions; ANALYZE events');
  return tallies;
}

/** The floor: the experiment's rows of both tables read once, by the same index ranges, and counted. */
async function plainRead(pool: PgPool, tag: number): Promise<number> {
  const [low, high] = recommendationIdRange(tag);
  const started = performance.now();
  await pool.query(
    `SELECT (SELECT count(*) FROM impressions WHERE recommendation_id BETWEEN $1::uuid AND $2::uuid) AS lists,
            (SELECT count(*) FROM events WHERE recommendation_id BETWEEN $1::uuid AND $2::uuid) AS actions`,
    [low, high],
  );
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const infra = localInfrastructure();
const db = await createTestDatabase(infra['DATABASE_URL']!, (url) => runMigrations({ databaseUrl: url, log }));
const pool = createPgPool({ url: db.url, log, applicationName: 'bench-experiment-report' });
const topic = await createTestTopic(infra['KAFKA_BROKERS']!.split(','));
const password = randomBytes(12).toString('base64url');
let batch: ChildProcess | undefined;
try {
  const variants = [
    { name: 'popular', weight: 1, strategy: 'popular' as const, params: {} },
    { name: 'lambda', weight: 1, strategy: 'lambda' as const, params: {} },
  ];
  const { tag } = await createExperimentRepository({ pool }).put(EXPERIMENT, { mode: 'ab', status: 'running', variants });
  let started = performance.now();
  const written = await writeArchive(pool, tag, [1, 1]);
  say(
    `archive: ${fmt(written.lists)} lists, ${fmt(written.clicks)} clicks, ${fmt(written.carts)} carts, ${fmt(written.purchases)} purchases (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );

  const service = await startBatchProcess({
    DATABASE_URL: db.url,
    REDIS_URL: infra['REDIS_URL']!,
    KAFKA_BROKERS: infra['KAFKA_BROKERS']!,
    EVENTS_TOPIC: topic.topic,
    ARCHIVE_GROUP_ID: `${topic.topic}-archive`,
    BATCH_QUEUE: `${topic.topic}-queue`,
    BATCH_CRON: '0 0 1 1 *',
    DASHBOARD_USER: 'bench',
    DASHBOARD_PASSWORD: password,
  });
  batch = service.child;
  const url = service.url;

  const authorization = `Basic ${Buffer.from(`bench:${password}`).toString('base64')}`;
  const reportMs: number[] = [];
  const floorMs: number[] = [];
  let report: ExperimentReport | undefined;
  // Rounds alternate the two, so that the machine's neighbours weigh on both; the first of each warms the caches.
  for (let round = 0; round <= ROUNDS; round++) {
    floorMs.push(await plainRead(pool, tag));
    started = performance.now();
    const res = await fetch(`${url}/experiments/${EXPERIMENT}/report`, { headers: { authorization } });
    if (!res.ok) throw new Error(`the report answered ${res.status}: ${await res.text()}`);
    report = (await res.json()) as ExperimentReport;
    reportMs.push(performance.now() - started);
  }
  const counted = report!.variants.reduce(
    (sum, v) => ({ lists: sum.lists + v.impressions, clicks: sum.clicks + v.clicks, purchases: sum.purchases + v.purchases }),
    { lists: 0, clicks: 0, purchases: 0 },
  );
  if (counted.lists !== written.lists || counted.clicks !== written.clicks || counted.purchases !== written.purchases) {
    throw new Error(`the report counted ${JSON.stringify(counted)}, the archive holds ${JSON.stringify(written)}`);
  }
  const reportMedian = median(reportMs.slice(1));
  const floorMedian = median(floorMs.slice(1));
  say(
    `report: ${reportMs
      .slice(1)
      .map((ms) => ms.toFixed(0))
      .join(', ')} ms; plain read: ${floorMs
      .slice(1)
      .map((ms) => ms.toFixed(0))
      .join(', ')} ms`,
  );
  say('');
  say(
    writeBenchReport({
      name: 'experiment-report',
      setup:
        `An A/B experiment that served ${fmt(written.lists)} lists of ${LIST_LENGTH} to ${fmt(USERS)} users over six hours: ` +
        `${fmt(written.clicks)} clicks, ${fmt(written.carts)} carts, ${fmt(written.purchases)} purchases (half attributed through their click). ` +
        `GET /experiments/:id/report on the batch service (a process), ${ROUNDS} rounds after a warm-up, alternating with the floor.`,
      figures: [
        {
          label: `GET /experiments/:id/report, ${fmt(written.lists)} lists (median of ${ROUNDS})`,
          value: reportMedian,
          unit: 'ms',
          baseline: { label: "one plain count over the experiment's range of both tables", value: floorMedian, unit: 'ms' },
          ratio: reportMedian / floorMedian,
          goal: 'well within the minute the report may lag the events (≤ 10 s)',
          met: reportMedian <= 10_000,
        },
      ],
      notes: [
        `The report's counts equal what was written: ${fmt(counted.lists)} lists, ${fmt(counted.clicks)} clicks, ${fmt(counted.purchases)} purchases.`,
        'The ratio is a latency ratio: how many times the floor the report takes.',
      ],
    }),
  );
} finally {
  // Stopped before its database and topic go, so that it does not log their disappearance.
  if (batch !== undefined && batch.exitCode === null) {
    const exited = new Promise((resolve) => batch!.once('exit', resolve));
    batch.kill('SIGTERM');
    await exited;
  }
  await pool.end();
  await topic.remove();
  await db.drop();
}
