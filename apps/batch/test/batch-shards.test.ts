import { randomUUID } from 'node:crypto';
import { createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import type { ClickEvent } from '@lambdarec/contracts';
import { computeBatchModel, DEFAULT_BATCH_POLICY, seededRandom } from '@lambdarec/domain';
import { createArchiveReader, createBatchRunsRepository, createEventArchive, decodeList, runMigrations } from '@lambdarec/stores';
import { asPartitionBatches, createTestDatabase, generatedEventId, testLogger, uniqueName, type TestDatabase } from '@lambdarec/testing';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AnyBatchJobData } from '../src/jobs.js';
import { reconcileRuns } from '../src/scheduler.js';
import { BASE, batchService, runUntilEnded } from './sharded-runs.js';

// Runs whose similar-items shards reach their pair limit: a skewed history completes, and a run
// that fails anyway leaves none of its frozen input behind.
const log = testLogger('batch-shards-test');
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
  cleanups.push(
    () => db.drop(),
    () => pool.end(),
  );
  const archive = createEventArchive({ pool });
  for (const batch of asPartitionBatches(events, { topic: 'shards.events' })) await archive.append(batch);
  return pool;
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
    const run = await runUntilEnded(await batchService({ ...BASE, maxPairsPerShard: 1 }, { pool, redis, log, cleanups }));
    expect(run.status).toBe('failed');
    for (const table of ['batch_input', 'batch_user_lists']) {
      expect((await pool.query(`SELECT 1 FROM ${table} WHERE run_id = $1`, [run.runId])).rowCount, table).toBe(0);
    }
  });
});

describe('a run failed by reconciliation', () => {
  it('leaves none of its frozen input behind either', async () => {
    const pool = await databaseWith([view('r-1', 'x', 0), view('r-1', 'y', 1)]);
    const runs = createBatchRunsRepository({ pool });
    const reader = createArchiveReader({ pool });
    // A run that froze its input, and whose job is then gone (removed in Bull Board, a lost queue).
    const runId = randomUUID();
    await runs.create({ runId, trigger: 'test', jobId: 'a-job-that-is-gone' });
    await runs.markRunning(runId);
    await reader.freezeInput(runId, { historyDays: 365, maxItemsPerUser: DEFAULT_BATCH_POLICY.maxItemsPerUser, now: Date.now() });
    expect(await reader.inputRows(runId)).toBe(2);
    const queue = new Queue<AnyBatchJobData>(uniqueName('shards-idle-queue'), { connection: redis });
    cleanups.push(
      () => queue.obliterate({ force: true }),
      () => queue.close(),
    );
    await reconcileRuns({ queue, runs, inputs: reader, log, graceMs: 0 });
    expect(await runs.status(runId)).toBe('failed');
    expect(await reader.inputRows(runId)).toBe(0);
  });
});

describe('a skewed history', () => {
  it('completes when a similar-items shard reaches the pair limit: the shard is split in halves, and the model is the same as in one process', async () => {
    // Products p0000…p1999 in name order. Shoppers view 40 distinct even-numbered ones each, so
    // nearly every pair belongs to the even products; each odd one is viewed alone, by a shopper
    // of its own. The run is cut by its total pair bound into two shards, even and odd: the even
    // one holds nearly all pairs, about twice the limit.
    const random = seededRandom(21);
    const events: ClickEvent[] = [];
    // Twice over every even product, shuffled, 40 to a shopper: 50 shoppers.
    for (let round = 0; round < 2; round++) {
      const even = Array.from({ length: 1000 }, (_, i) => 2 * i);
      for (let i = even.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [even[i], even[j]] = [even[j]!, even[i]!];
      }
      for (let u = 0; u < 25; u++) {
        for (const product of even.slice(u * 40, u * 40 + 40))
          events.push(view(`wide-${round}-${u}`, `p${String(product).padStart(4, '0')}`, events.length));
      }
    }
    for (let product = 1; product < 2000; product += 2)
      events.push(view(`single-${product}`, `p${String(product).padStart(4, '0')}`, events.length));
    const pool = await databaseWith(events);
    const maxPairsPerShard = 40_000;
    const run = await runUntilEnded(await batchService({ ...BASE, maxPairsPerShard }, { pool, redis, log, cleanups }));
    expect(run.status, JSON.stringify(run.stats)).toBe('succeeded');
    expect(run.stats.shards.similarItems).toBeGreaterThan(2);
    const { rows } = await pool.query<{ most: string }>(
      `SELECT max(pairs) AS most FROM batch_run_shards WHERE run_id = $1 AND stage = 'similar-items'`,
      [run.runId],
    );
    expect(Number(rows[0]!.most)).toBeLessThanOrEqual(maxPairsPerShard);
    const inMemory = computeBatchModel(
      events.map((e) => ({
        userId: e.userId,
        productId: e.productId,
        type: e.type,
        count: 1,
        lastAt: Date.parse(e.timestamp!),
        category: e.category ?? null,
      })),
      Date.parse(run.watermark.maxEventTime),
      DEFAULT_BATCH_POLICY,
    );
    expect(run.stats.similarityPairs).toBe(inMemory.stats.similarityPairs);
    const stored = await pool.query<{ product_id: string; items: Parameters<typeof decodeList>[0] }>(
      'SELECT product_id, items FROM rec_similar_items WHERE run_id = $1 ORDER BY product_id',
      [run.runId],
    );
    const lists = (items: Array<{ productId: string; score: number }>) => items.map(({ productId, score }) => [productId, score]);
    expect(stored.rows.map((row) => [row.product_id, lists(decodeList(row.items))])).toEqual(
      [...inMemory.similar].map(([productId, items]) => [productId, lists(items)]),
    );
  });
});
