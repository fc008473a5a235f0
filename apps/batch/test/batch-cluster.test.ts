import { closeRedis, createPgPool, createRedis, redisReady, scanKeys, type Cluster, type PgPool } from '@lambdarec/clients';
import type { ClickEvent } from '@lambdarec/contracts';
import { createEventArchive, runMigrations } from '@lambdarec/stores';
import { asPartitionBatches, createTestDatabase, generatedEventId, testLogger, uniqueName } from '@lambdarec/testing';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AnyBatchJobData } from '../src/jobs.js';
import { BASE, batchService, runUntilEnded } from './sharded-runs.js';

// BullMQ on a Redis Cluster: its scripts touch many keys of a queue at once, which a hash-tagged
// prefix keeps in one slot.
const log = testLogger('batch-cluster-test');
let redis: Cluster;
let pool: PgPool;
/** What each test started, undone after it. */
const cleanups: Array<() => Promise<unknown>> = [];

const view = (userId: string, productId: string, index: number): ClickEvent => ({
  eventId: generatedEventId(91, index),
  userId,
  type: 'view',
  productId,
  category: 'c',
  timestamp: new Date(Date.parse('2026-10-01T00:00:00Z') + index * 1000).toISOString(),
});

beforeAll(async () => {
  redis = createRedis({ clusterNodes: inject('infra').redisClusterNodes, log, purpose: 'bullmq' });
  await redisReady(redis);
  const db = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'batch-cluster-test' });
  cleanups.push(
    () => db.drop(),
    () => pool.end(),
  );
  // Four shoppers who viewed overlapping products: a run with similar items and user lists.
  const events = ['a', 'b', 'c', 'd'].flatMap((user, u) =>
    ['w', 'x', 'y', 'z'].slice(u % 2).map((product, p) => view(user, product, u * 4 + p)),
  );
  const archive = createEventArchive({ pool });
  for (const batch of asPartitionBatches(events, { topic: 'cluster.events' })) await archive.append(batch);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(2).reverse()) await cleanup().catch(() => undefined);
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await closeRedis(redis);
});

describe('the batch worker on a Redis Cluster', () => {
  it('with a hash-tagged prefix, takes a run through its coordinator and shard jobs to success, every key of the queue in one slot', async () => {
    const prefix = `{${uniqueName('bull')}}`;
    const app = await batchService({ ...BASE, minShards: 2 }, { pool, redis, log, cleanups, prefix });
    const run = await runUntilEnded(app);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    const keys: string[] = [];
    for await (const page of scanKeys(redis, `${prefix}:*`)) keys.push(...page);
    expect(keys.length).toBeGreaterThan(3);
    const slots = new Set(await Promise.all(keys.map(async (key) => Number(await redis.cluster('KEYSLOT', key)))));
    expect(slots.size).toBe(1);
  });

  it("without a hash tag in the prefix, BullMQ's scripts are refused (CROSSSLOT): why the configuration demands one", async () => {
    const queue = new Queue<AnyBatchJobData>(uniqueName('untagged-queue'), { connection: redis, prefix: uniqueName('bull') });
    cleanups.push(() => queue.close());
    await expect(queue.add('compute-recommendations', { runId: 'r', trigger: 'test' })).rejects.toThrow(/CROSSSLOT/);
  });
});
