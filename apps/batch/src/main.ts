import { closeRedis, createKafka, createPgPool, createRedis } from '@lambdarec/clients';
import { batchConfigSchema, bullmqPrefixFrom, redisConnectionFrom } from '@lambdarec/config';
import { createLoginThrottle } from '@lambdarec/http';
import { runService } from '@lambdarec/lifecycle';
import { createMetricsRegistry } from '@lambdarec/metrics';
import {
  createArchiveReader,
  createBatchRunsRepository,
  createBotFlagLedger,
  createEventArchive,
  createRedisLoginAttemptCounts,
  runMigrations,
} from '@lambdarec/stores';
import { Queue } from 'bullmq';
import { buildBatchApp } from './app.js';
import { createArchiver } from './archiver.js';
import { createExperimentDependencies } from './experiment-report.js';
import type { AnyBatchJobData } from './jobs.js';
import { createRunReconciler, upsertNightlySchedule } from './scheduler.js';
import { createRunWorker } from './worker.js';

await runService({
  name: 'batch',
  schema: batchConfigSchema,
  env: process.env,
  async start(config, log, defer) {
    const registry = createMetricsRegistry('batch');
    await runMigrations({ databaseUrl: config.DATABASE_URL, log });
    const pool = createPgPool({ url: config.DATABASE_URL, log, applicationName: 'lambdarec-batch' });
    defer('postgres', () => pool.end());
    const redis = createRedis({ ...redisConnectionFrom(config), log, purpose: 'bullmq' });
    defer('redis', () => closeRedis(redis));
    // The queue (adding jobs, the dashboard) fails fast in a Redis outage, so POST /batch/runs
    // answers 503 instead of hanging; only the worker's blocking calls wait for Redis to return.
    const queueRedis = createRedis({ ...redisConnectionFrom(config), log, purpose: 'requests' });
    defer('queue redis', () => closeRedis(queueRedis));

    const runs = createBatchRunsRepository({ pool });
    const botFlagLedger = createBotFlagLedger({ redis, keyPrefix: config.REDIS_KEY_PREFIX });
    const { experiments, experimentReports } = createExperimentDependencies({
      pool,
      botFlagLedger,
      attributionHours: config.ATTRIBUTION_HOURS,
      log,
    });
    // The worker, the shards' flows and Bull Board take the prefix from this queue.
    const queue = new Queue<AnyBatchJobData>(config.BATCH_QUEUE, { connection: queueRedis, prefix: bullmqPrefixFrom(config) });
    defer('queue', () => queue.close());
    const reconciler = createRunReconciler({ queue, runs, inputs: createArchiveReader({ pool }), log });
    await reconciler.once();
    reconciler.start();
    defer('run reconciler', () => reconciler.close());
    await upsertNightlySchedule({ queue, pattern: config.BATCH_CRON, tz: config.BATCH_TZ, log });

    // Every batch process works on runs: its coordinator steps and its shards, whichever process
    // queued them. More processes (on any host sharing Redis and Postgres) make runs faster.
    const worker = createRunWorker({
      pool,
      queue,
      connection: redis,
      runs,
      botFlags: botFlagLedger,
      experimentSummary: () => experimentReports.runningSummary(),
      concurrency: config.BATCH_WORKER_CONCURRENCY,
      lockDurationMs: config.BATCH_JOB_LOCK_MS,
      settings: {
        historyDays: config.BATCH_HISTORY_DAYS,
        keepRuns: config.BATCH_KEEP_RUNS,
        maxPairsPerShard: config.BATCH_SHARD_MAX_PAIRS,
        maxUsersPerShard: config.BATCH_SHARD_MAX_USERS,
        minShards: config.BATCH_MIN_SHARDS,
      },
      log,
    });
    const archiver = createArchiver({
      kafka: createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'lambdarec-archiver', log }),
      topic: config.EVENTS_TOPIC,
      groupId: config.ARCHIVE_GROUP_ID,
      archive: createEventArchive({ pool }),
      log,
      registry,
    });

    const app = await buildBatchApp({
      log,
      registry,
      runs,
      queue,
      experiments,
      experimentReports,
      credentials: { user: config.DASHBOARD_USER, password: config.DASHBOARD_PASSWORD },
      // Counted in Redis, so that a guesser gets one budget across every batch instance.
      loginThrottle: createLoginThrottle({
        counts: createRedisLoginAttemptCounts({ redis: queueRedis, keyPrefix: config.REDIS_KEY_PREFIX }),
        onUnavailable: (err) =>
          log.warn({ err }, 'Redis did not answer the login throttle; failed logins are counted in this process meanwhile'),
      }),
      trustProxy: config.TRUST_PROXY,
      checks: {
        postgres: () => pool.query('SELECT 1'),
        redis: () => redis.ping(),
        // Two checks, so /readyz says which: the broker is unreachable, or the archiver is not consuming.
        kafka: () => archiver.brokerReachable(),
        archiver: async () => archiver.assertConsuming(),
      },
    });
    await app.listen({ port: config.PORT, host: config.HOST });
    defer('http server', () => app.close());
    await worker.start();
    defer('batch worker', () => worker.close());
    await archiver.start();
    defer('archiver', () => archiver.close());
  },
});
