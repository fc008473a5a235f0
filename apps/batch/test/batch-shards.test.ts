import { createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import type { ClickEvent } from '@lambdarec/contracts';
import { createMetricsRegistry, type HttpServer } from '@lambdarec/http';
import { createBatchRunsRepository, createEventArchive, runMigrations } from '@lambdarec/stores';
import { asPartitionBatches, createTestDatabase, generatedEventId, testLogger, uniqueName, waitFor, type TestDatabase } from '@lambdarec/testing';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildBatchApp } from '../src/app.js';
import type { AnyBatchJobData } from '../src/jobs.js';
import type { RunSettings } from '../src/run-coordinator.js';
import { createRunWorker } from '../src/worker.js';

// Runs whose similar-items shards reach their pair limit: a skewed history completes, and a run
// that fails anyway leaves none of its frozen input behind.
const log = testLogger('batch-shards-test');
const credentials = { user: 'ops', password: 'correct-horse' };
const auth = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
const BASE: RunSettings = { historyDays: 365, keepRuns: 2, maxPairsPerShard: 10_000_000, maxUsersPerShard: 100_000, minShards: 1 };
let redis: Redis;
/** What each test started, undone after it. */
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(() => {
  redis = createRedis({ url: inject('infra').redisUrl, log, purpose: 'bullmq' });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

afterAll(async () => {
  await redis?.quit();
});

/** A database of its own holding these events, archived as the archiver would. */
async function databaseWith(events: Iterable<ClickEvent>): Promise<PgPool> {
  const db: TestDatabase = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  const pool = createPgPool({ url: db.url, log, applicationName: 'batch-shards-test' });
  cleanups.push(() => db.drop(), () => pool.end());
  const archive = createEventArchive({ pool });
  for (const batch of asPartitionBatches(events, { topic: 'shards.events' })) await archive.append(batch);
  return pool;
}

/** A batch service app and worker on a queue of their own, with these shard settings. */
async function batchService(settings: RunSettings, pool: PgPool): Promise<HttpServer> {
  const queue = new Queue<AnyBatchJobData>(uniqueName('shards-queue'), { connection: redis });
  const runs = createBatchRunsRepository({ pool });
  const worker = createRunWorker({ pool, queue, connection: redis, runs, settings, concurrency: 2, log });
  await worker.start();
  const app = await buildBatchApp({ log, registry: createMetricsRegistry(uniqueName('shards')), checks: {}, runs, queue, credentials });
  cleanups.push(
    () => app.close(),
    () => worker.close(),
    () => queue.obliterate({ force: true }),
    () => queue.close(),
  );
  return app;
}

/** Starts a run and waits until it reads as ended. */
async function runUntilEnded(app: HttpServer) {
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

const view = (userId: string, productId: string, index: number): ClickEvent => ({
  eventId: generatedEventId(77, index),
  userId,
  type: 'view',
  productId,
  category: 'c',
  timestamp: new Date(Date.parse('2026-10-01T00:00:00Z') + index * 1000).toISOString(),
});

describe('a run that fails in a shard', () => {
  it('leaves none of its frozen input behind', async () => {
    // Three shoppers who viewed the same three products: every product has two neighbours, and
    // a limit of one pair per shard cannot hold even one product's.
    const events = ['a', 'b', 'c'].flatMap((user, u) => ['x', 'y', 'z'].map((product, p) => view(user, product, u * 3 + p)));
    const pool = await databaseWith(events);
    const run = await runUntilEnded(await batchService({ ...BASE, maxPairsPerShard: 1 }, pool));
    expect(run.status).toBe('failed');
    for (const table of ['batch_input', 'batch_user_lists']) {
      expect((await pool.query(`SELECT 1 FROM ${table} WHERE run_id = $1`, [run.runId])).rowCount, table).toBe(0);
    }
  });
});
