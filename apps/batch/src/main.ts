import { closeRedis, createKafka, createPgPool, createRedis, runService } from '@lambdarec/clients';
import { batchConfigSchema } from '@lambdarec/config';
import { DEFAULT_BATCH_POLICY } from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/http';
import { createBatchRunsRepository, createEventArchive, runMigrations } from '@lambdarec/stores';
import { Queue } from 'bullmq';
import { buildBatchApp } from './app.js';
import { createArchiver } from './archiver.js';
import { createBatchRunner } from './batch-runner.js';
import { createRunReconciler, upsertNightlySchedule } from './scheduler.js';
import { createBatchWorker, type BatchJobData } from './worker.js';

await runService({
  name: 'batch',
  schema: batchConfigSchema,
  env: process.env,
  async start(config, log, defer) {
    const registry = createMetricsRegistry('batch');
    await runMigrations({ databaseUrl: config.DATABASE_URL, log });
    const pool = createPgPool({ url: config.DATABASE_URL, log, applicationName: 'lambdarec-batch' });
    defer('postgres', () => pool.end());
    const redis = createRedis({ url: config.REDIS_URL, log, purpose: 'bullmq' });
    defer('redis', () => closeRedis(redis));
    // The queue (adding jobs, the dashboard) fails fast in a Redis outage, so POST /batch/runs
    // answers 503 instead of hanging; only the worker's blocking calls wait for Redis to return.
    const queueRedis = createRedis({ url: config.REDIS_URL, log, purpose: 'requests' });
    defer('queue redis', () => closeRedis(queueRedis));

    const runs = createBatchRunsRepository({ pool });
    const queue = new Queue<BatchJobData>(config.BATCH_QUEUE, { connection: queueRedis });
    defer('queue', () => queue.close());
    const reconciler = createRunReconciler({ queue, runs, log });
    await reconciler.once();
    reconciler.start();
    defer('run reconciler', () => reconciler.close());
    await upsertNightlySchedule({ queue, pattern: config.BATCH_CRON, tz: config.BATCH_TZ, log });

    const worker = createBatchWorker({
      queueName: config.BATCH_QUEUE,
      connection: redis,
      runs,
      runner: createBatchRunner({ runs, policy: DEFAULT_BATCH_POLICY, log }),
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
      credentials: { user: config.DASHBOARD_USER, password: config.DASHBOARD_PASSWORD },
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
