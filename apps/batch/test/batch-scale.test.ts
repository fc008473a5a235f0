import { randomUUID } from 'node:crypto';
import { createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import type { ClickEvent } from '@lambdarec/contracts';
import { computeBatchModel, DEFAULT_BATCH_POLICY, groupByUser, type Interaction, type UserHistory } from '@lambdarec/domain';
import { type HttpServer } from '@lambdarec/http';
import {
  createArchiveReader,
  createBatchRunsRepository,
  createBatchViewReader,
  createEventArchive,
  createRunHistoryReader,
  decodeList,
  loadRunRanker,
  runMigrations,
} from '@lambdarec/stores';
import {
  asPartitionBatches,
  createTestDatabase,
  retailHistory,
  testLogger,
  waitFor,
  wideHistory,
  type TestDatabase,
} from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunSettings } from '../src/run-coordinator.js';
import { auth, BASE, batchService as shardedBatchService, runUntilEnded } from './sharded-runs.js';

// Sharded runs through real Postgres and BullMQ: cutting a run into many shards changes nothing in
// the model; kept runs can be published again; a history past the old one-Map ceiling runs.
const log = testLogger('batch-scale-test');
let db: TestDatabase;
let pool: PgPool;
let redis: Redis;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const { databaseUrl, redisUrl } = inject('infra');
  db = await createTestDatabase(databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'batch-scale-test' });
  redis = createRedis({ url: redisUrl, log, purpose: 'bullmq' });
  const archive = createEventArchive({ pool });
  // A shop's history, and the same events delivered again: the daily aggregate counts each once.
  const history = [...retailHistory({ events: 6000, users: 500, products: 150, seed: 11 })];
  for (const batch of asPartitionBatches(history, { topic: 'scale.events', batchSize: 1000 })) await archive.append(batch);
  for (const batch of asPartitionBatches(history.slice(0, 2500), { topic: 'scale.events', batchSize: 700 })) await archive.append(batch);
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await redis?.quit();
  await pool?.end();
  await db?.drop();
});

/** A batch service on the shared history (or `onPool`), with these shard settings. */
const batchService = (settings: RunSettings, onPool: PgPool = pool) =>
  shardedBatchService(settings, { pool: onPool, redis, log, cleanups });

/** Starts a run, waits until it reads as ended, and then until its job has dropped its work rows. */
async function runToEnd(app: HttpServer) {
  const run = await runUntilEnded(app);
  const { runId } = run;
  // The job goes on after the run reads as ended: it prunes older runs and drops every ended run's
  // work rows, in one transaction. Its end shows as this run's work rows being gone.
  await waitFor(
    async () => ((await pool.query('SELECT 1 FROM batch_input WHERE run_id = $1', [runId])).rowCount === 0 ? true : undefined),
    {
      what: `the job of run ${runId} to prune and drop its work rows`,
      timeoutMs: 10_000,
    },
  );
  return run;
}

/** Every row a run wrote to the view, as the database holds it. */
async function viewOf(runId: string) {
  const rows = async (sql: string) => (await pool.query(sql, [runId])).rows;
  const decoded = (list: Array<Record<string, unknown>>) =>
    list.map((row) => ({ ...row, items: decodeList(row['items'] as Parameters<typeof decodeList>[0]) }));
  return {
    similar: decoded(await rows('SELECT product_id, items FROM rec_similar_items WHERE run_id = $1 ORDER BY product_id')),
    users: decoded(await rows('SELECT user_id, items FROM rec_user_items WHERE run_id = $1 ORDER BY user_id')),
    popular: decoded(await rows('SELECT items FROM rec_popular_items WHERE run_id = $1')),
    repurchase: await rows('SELECT scope, key, buyers, rebuyers FROM rec_repurchase WHERE run_id = $1 ORDER BY scope, key'),
  };
}

const runIds: string[] = [];

describe('a sharded run', () => {
  it('cut into many shards gives the same model as one shard, and the same as computeBatchModel in memory', async () => {
    const one = await runToEnd(await batchService(BASE));
    const many = await runToEnd(await batchService({ ...BASE, maxPairsPerShard: 4_000, maxUsersPerShard: 40, minShards: 3 }));
    runIds.push(one.runId, many.runId);
    expect(one).toMatchObject({ status: 'succeeded', stats: { shards: { similarItems: 1, userItems: 1 } } });
    expect(many.status).toBe('succeeded');
    expect(many.stats.shards.similarItems).toBeGreaterThan(5);
    expect(many.stats.shards.userItems).toBeGreaterThan(5);
    expect(many.stats).toMatchObject({
      users: one.stats.users,
      items: one.stats.items,
      similarityPairs: one.stats.similarityPairs,
      eventsRead: 6000,
    });

    const viewOne = await viewOf(one.runId);
    expect(viewOne.similar.length).toBeGreaterThan(100);
    expect(viewOne.users.length).toBe(500);
    expect(await viewOf(many.runId)).toEqual(viewOne);

    // The same input through the pure domain model, in one process: the eval measures what serves.
    const reader = createArchiveReader({ pool });
    const probe = randomUUID();
    await createBatchRunsRepository({ pool }).create({ runId: probe, trigger: 'test' });
    const input = await reader.freezeInput(probe, {
      historyDays: 365,
      maxItemsPerUser: DEFAULT_BATCH_POLICY.maxItemsPerUser,
      now: Date.now(),
    });
    const rows: Interaction[] = [];
    for await (const user of reader.users(probe)) rows.push(...user.rows);
    await reader.dropInput(probe);
    await createBatchRunsRepository({ pool }).markFailed(probe, 'test probe');
    const model = computeBatchModel(rows, Date.parse(input.watermark.maxEventTime!), DEFAULT_BATCH_POLICY);
    const strip = (items: Array<{ productId: string; score: number; category: string | null; reasons: string[] }>) =>
      items.map(({ productId, score, category, reasons }) => ({ productId, score, category, reasons }));
    expect(viewOne.similar).toEqual([...model.similar].map(([product_id, items]) => ({ product_id, items: strip(items) })));
    expect(viewOne.users).toEqual([...model.perUser].map(([user_id, items]) => ({ user_id, items: strip(items) })));
    expect(viewOne.popular).toEqual([{ items: strip(model.popular) }]);
    // The weights a run trains on its last weeks (none when too few users bought in them) are the model's.
    expect(one.stats.blend).toEqual(model.blend);
    expect(many.stats.blend).toEqual(model.blend);

    // What the run keeps to re-rank a customer after a purchase (ADR 017): every user's frozen
    // history, and from it and the run's other rows, serving's ranker gives each user the run's list.
    // Small pages of similar lists, so that the ranker's build reads them in ten.
    const histories = createRunHistoryReader({ pool, similarPage: 16 });
    const kept: UserHistory[] = [];
    for await (const user of histories.histories(many.runId, 64)) kept.push(user);
    expect(kept).toEqual(groupByUser(rows));
    const ranker = (await loadRunRanker(histories, many.runId, DEFAULT_BATCH_POLICY))!;
    expect(ranker).toMatchObject({ asOf: model.asOf, customers: 500 });
    for (const { userId, rows: history } of kept)
      expect(ranker.rank(userId, history, ranker.asOf)).toEqual(model.perUser.get(userId) ?? []);
    expect(await histories.userHistory(many.runId, kept[7]!.userId)).toEqual(kept[7]!.rows);
    expect(await histories.userHistory(many.runId, 'nobody')).toEqual([]);
  });

  it('reports its phases and shard progress, and counts archived events once however often they were delivered', async () => {
    const app = await batchService({ ...BASE, minShards: 2 });
    const run = await runToEnd(app);
    runIds.push(run.runId);
    expect(run.progress).toEqual({ phase: 'done', shardsDone: 0, shardsTotal: 0 });
    expect(Object.keys(run.stats.phaseMs).sort()).toEqual(['freeze-input', 'publish', 'similar-items', 'user-items', 'user-lists']);
    expect(run.stats.eventsRead).toBe(6000);
    const { rows } = await pool.query<{ n: string }>('SELECT sum(n) AS n FROM event_daily');
    expect(Number(rows[0]!.n)).toBe(6000);
    // Work rows are dropped once the run has ended (runToEnd waits for that, or fails); its product
    // facts stay with it until it is pruned, for serving to re-rank with (ADR 017).
    expect((await pool.query('SELECT 1 FROM batch_user_lists WHERE run_id = $1', [run.runId])).rowCount).toBe(0);
    expect((await pool.query('SELECT 1 FROM batch_product_facts WHERE run_id = $1', [run.runId])).rowCount).toBe(150);
  });
});

describe('kept runs and rollback', () => {
  it('publishes an older kept run again atomically, and refuses pruned, failed and unknown runs', async () => {
    const app = await batchService(BASE);
    const view = createBatchViewReader({ pool });
    const latest = await runToEnd(app);
    runIds.push(latest.runId);
    // keepRuns 2: of the runs so far, the newest two succeeded ones are kept (and the published one).
    const [kept, pruned] = [runIds.at(-2)!, runIds.at(-3)!];
    expect((await view.publishedRun())?.runId).toBe(latest.runId);

    const unauthorised = await app.inject({ method: 'POST', url: `/batch/runs/${kept}/publish` });
    expect(unauthorised.statusCode).toBe(401);
    const rolledBack = await app.inject({ method: 'POST', url: `/batch/runs/${kept}/publish`, headers: { authorization: auth } });
    expect(rolledBack.statusCode, rolledBack.body).toBe(200);
    expect(rolledBack.json()).toMatchObject({ runId: kept, status: 'succeeded', published: true });
    expect((await view.publishedRun())?.runId).toBe(kept);
    expect((await view.userItems(kept, 'u1')).length).toBeGreaterThan(0);
    expect((await app.inject({ url: `/batch/runs/${latest.runId}`, headers: { authorization: auth } })).json().published).toBe(false);

    const refusedPruned = await app.inject({ method: 'POST', url: `/batch/runs/${pruned}/publish`, headers: { authorization: auth } });
    expect(refusedPruned.statusCode).toBe(409);
    expect(refusedPruned.json()).toMatchObject({ code: 'LREC_RUN_NOT_PUBLISHABLE', message: expect.stringMatching(/pruned/) });
    // A pruned run's kept histories and facts go with it; a kept run's stay, for serving to re-rank with.
    for (const table of ['rec_user_items', 'rec_user_history', 'batch_product_facts']) {
      expect((await pool.query(`SELECT 1 FROM ${table} WHERE run_id = $1`, [pruned])).rowCount, table).toBe(0);
      expect((await pool.query(`SELECT 1 FROM ${table} WHERE run_id = $1`, [kept])).rowCount, table).toBeGreaterThan(0);
    }

    const failed = randomUUID();
    const runs = createBatchRunsRepository({ pool });
    await runs.create({ runId: failed, trigger: 'test' });
    await runs.markFailed(failed, 'test');
    const refusedFailed = await app.inject({ method: 'POST', url: `/batch/runs/${failed}/publish`, headers: { authorization: auth } });
    expect(refusedFailed.statusCode).toBe(409);
    expect(refusedFailed.json().message).toMatch(/failed, not succeeded/);
    expect(
      (await app.inject({ method: 'POST', url: `/batch/runs/${randomUUID()}/publish`, headers: { authorization: auth } })).statusCode,
    ).toBe(404);
    expect((await view.publishedRun())?.runId).toBe(kept);

    // The next run publishes itself as usual, and the rolled-back-to run stays kept.
    const next = await runToEnd(app);
    runIds.push(next.runId);
    expect((await view.publishedRun())?.runId).toBe(next.runId);
  });
});

describe('no ceiling', () => {
  it('runs a history of shoppers with 100 distinct products each, cut into shards that each stay under the pair limit', async () => {
    // The shape that once overflowed a 2^24-entry Map (3,400 × 100 distinct), at a size for CI:
    // 300 × 100 gives 2.97M ordered pair instances against a limit of 200k pairs per shard.
    const wide = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
    const widePool = createPgPool({ url: wide.url, log, applicationName: 'batch-scale-wide' });
    cleanups.push(
      () => wide.drop(),
      () => widePool.end(),
    );
    const archive = createEventArchive({ pool: widePool });
    const events: ClickEvent[] = [...wideHistory({ users: 300, productsPerUser: 100, products: 2000, seed: 5 })];
    for (const batch of asPartitionBatches(events, { topic: 'wide.events' })) await archive.append(batch);

    const run = await runToEnd(await batchService({ ...BASE, maxPairsPerShard: 200_000 }, widePool));
    expect(run.status, JSON.stringify(run.stats)).toBe('succeeded');
    expect(run.stats.shards.similarItems).toBeGreaterThanOrEqual(15);
    const { rows } = await widePool.query<{ most: string; users: string }>(
      `SELECT max(pairs) FILTER (WHERE stage = 'similar-items') AS most, sum(rows_written) FILTER (WHERE stage = 'user-items') AS users
       FROM batch_run_shards WHERE run_id = $1`,
      [run.runId],
    );
    expect(Number(rows[0]!.most)).toBeLessThanOrEqual(200_000);
    expect(Number(rows[0]!.users)).toBe(300);
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
    expect(run.stats.similarityPairs).toBeGreaterThan(900_000);
  });
});
