import type { Logger, PgPool, RedisClient } from '@lambdarec/clients';
import type { HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createBatchRunsRepository } from '@lambdarec/stores';
import { uniqueName, waitFor } from '@lambdarec/testing';
import { Queue } from 'bullmq';
import { expect } from 'vitest';
import { buildBatchApp } from '../src/app.js';
import { createExperimentDependencies } from '../src/experiment-report.js';
import type { AnyBatchJobData } from '../src/jobs.js';
import type { RunSettings } from '../src/run-coordinator.js';
import { createRunWorker } from '../src/worker.js';

// What the sharded-run tests share: a batch service on a queue of its own, and a run started and
// waited for through the runs API.
export const credentials = { user: 'ops', password: 'correct-horse' };
export const auth = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
export const BASE: RunSettings = { historyDays: 365, keepRuns: 2, maxPairsPerShard: 10_000_000, maxUsersPerShard: 100_000, minShards: 1 };

/**
 * A batch service app and worker on a queue of their own, with these shard settings; `cleanups`
 * undoes them. `prefix`: BullMQ's key prefix (hash-tagged on a Redis Cluster).
 */
export async function batchService(
  settings: RunSettings,
  {
    pool,
    redis,
    log,
    cleanups,
    prefix,
  }: { pool: PgPool; redis: RedisClient; log: Logger; cleanups: Array<() => Promise<unknown>>; prefix?: string },
): Promise<HttpServer> {
  const queue = new Queue<AnyBatchJobData>(uniqueName('shards-queue'), { connection: redis, ...(prefix === undefined ? {} : { prefix }) });
  const runs = createBatchRunsRepository({ pool });
  const worker = createRunWorker({ pool, queue, connection: redis, runs, settings, concurrency: 2, log });
  await worker.start();
  const app = await buildBatchApp({
    log,
    registry: createMetricsRegistry(uniqueName('shards')),
    checks: {},
    runs,
    queue,
    ...createExperimentDependencies({ pool, attributionHours: 24, log }),
    credentials,
  });
  cleanups.push(
    () => app.close(),
    () => worker.close(),
    () => queue.obliterate({ force: true }),
    () => queue.close(),
  );
  return app;
}

/** Starts a run and waits until it reads as ended. */
export async function runUntilEnded(app: HttpServer) {
  const res = await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } });
  expect(res.statusCode, res.body).toBe(202);
  const { runId } = res.json() as { runId: string };
  return waitFor(
    async () => {
      const answer = (await app.inject({ url: `/batch/runs/${runId}`, headers: { authorization: auth } })).json();
      return answer.status === 'succeeded' || answer.status === 'failed' ? answer : undefined;
    },
    { what: `run ${runId}`, timeoutMs: 60_000 },
  );
}
