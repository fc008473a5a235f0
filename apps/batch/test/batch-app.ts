import { createKafka, createPgPool, createRedis, type EventConsumer, type PgPool, type Redis } from '@lambdarec/clients';
import { type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import {
  createBatchRunsRepository,
  createBotFlagLedger,
  createEventArchive,
  runMigrations,
  type BotFlagInterval,
  type BotFlagLedger,
  type ExperimentRepository,
} from '@lambdarec/stores';
import {
  createTestDatabase,
  createTestTopic,
  removeKeys,
  testLogger,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@lambdarec/testing';
import { Queue } from 'bullmq';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, inject } from 'vitest';
import { buildBatchApp } from '../src/app.js';
import { createArchiver } from '../src/archiver.js';
import { createExperimentDependencies, type ExperimentReports } from '../src/experiment-report.js';
import type { AnyBatchJobData } from '../src/jobs.js';
import type { RunSettings } from '../src/run-coordinator.js';
import { createRunWorker } from '../src/worker.js';

export const log = testLogger('batch-test');
export const credentials = { user: 'ops', password: 'correct-horse' };
export const auth = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
export const settings: RunSettings = { historyDays: 365, keepRuns: 3, maxPairsPerShard: 1_000_000, maxUsersPerShard: 1000, minShards: 2 };

// Set by useBatchApp() for the test file that calls it: each test file has its own instance of this module,
// and so its own topic, database, queue and bot-flag keys.
export let topic: TestTopic;
export let pool: PgPool;
export let redis: Redis;
export let queue: Queue<AnyBatchJobData>;
export let botFlags: BotFlagLedger;
export let producer: Producer;
export let app: HttpServer;
export let experiments: ExperimentRepository;
export let experimentReports: ExperimentReports;

/** The batch app, its run worker and the archiver, on a topic, a database, a queue and bot-flag keys of the calling test file's own. */
export function useBatchApp(): void {
  const botFlagPrefix = `${uniqueName('batch-test')}:`;
  const registry = createMetricsRegistry('batch-test');
  let db: TestDatabase;
  let worker: ReturnType<typeof createRunWorker>;
  let archiver: EventConsumer;

  beforeAll(async () => {
    const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
    topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
    db = await createTestDatabase(databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
    pool = createPgPool({ url: db.url, log, applicationName: 'batch-test' });
    redis = createRedis({ url: redisUrl, log, purpose: 'bullmq' });
    const queueName = uniqueName('batch-queue');
    queue = new Queue<AnyBatchJobData>(queueName, { connection: redis });
    const runs = createBatchRunsRepository({ pool });
    botFlags = createBotFlagLedger({ redis, keyPrefix: botFlagPrefix });
    ({ experiments, experimentReports } = createExperimentDependencies({ pool, botFlagLedger: botFlags, attributionHours: 24, log }));
    worker = createRunWorker({
      pool,
      queue,
      connection: redis,
      runs,
      settings,
      botFlags,
      experimentSummary: () => experimentReports.runningSummary(),
      concurrency: 2,
      log,
    });
    await worker.start();
    const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'batch-test', log });
    archiver = createArchiver({
      kafka,
      topic: topic.topic,
      groupId: uniqueName('archive-group'),
      archive: createEventArchive({ pool }),
      log,
      registry,
    });
    await archiver.start();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    app = await buildBatchApp({
      log,
      registry,
      checks: { postgres: () => pool.query('SELECT 1') },
      runs,
      queue,
      experiments,
      experimentReports,
      credentials,
    });
  });

  afterAll(async () => {
    await app?.close();
    await archiver?.close();
    await producer?.disconnect();
    await worker?.close();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    if (redis !== undefined) await removeKeys(redis, `${botFlagPrefix}*`);
    await redis?.quit();
    await pool?.end();
    await db?.drop();
    await topic?.remove();
  });
}

export const archivedCount = async (userPrefix: string) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE user_id LIKE $1', [`${userPrefix}%`])).rows[0]!.n;

/** When the archived events arrived (the Kafka records' timestamps), in order: what the bot guard judges. */
export const arrivals = async (events: ReadonlyArray<{ eventId?: string }>) =>
  (
    await pool.query<{ arrived_at: Date }>('SELECT arrived_at FROM events WHERE event_id = ANY($1::uuid[]) ORDER BY arrived_at', [
      events.map((e) => e.eventId),
    ])
  ).rows.map((row) => row.arrived_at.getTime());

/** The flag the speed layer records for a burst: the user's events that arrived from its first to its last. */
export const flagOf = async (userId: string, burst: ReadonlyArray<{ eventId?: string }>): Promise<BotFlagInterval> => {
  const times = await arrivals(burst);
  return { userId, reason: 'repeat', from: times[0]!, until: times[times.length - 1]! };
};

export const waitForRun = (runId: string) =>
  waitFor(
    async () => {
      const res = await app.inject({ url: `/batch/runs/${runId}`, headers: { authorization: auth } });
      const run = res.json();
      return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
    },
    { what: `run ${runId} to finish`, timeoutMs: 30_000 },
  );
