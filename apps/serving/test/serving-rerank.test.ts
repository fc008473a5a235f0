import { randomUUID } from 'node:crypto';
import type { PgPool, Redis } from '@lambdarec/clients';
import { sessionPolicyFrom } from '@lambdarec/config';
import {
  buildSessionProfile,
  computeBatchRun,
  decideRepurchase,
  DEFAULT_BATCH_POLICY,
  DEFAULT_MERGE_WEIGHTS,
  groupByUser,
  mergeRecommendations,
  withPurchases,
  type BatchRun,
  type Interaction,
  type SessionSignal,
} from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createBatchRunsRepository, publishWholeModel, type SessionStore } from '@lambdarec/stores';
import { testLogger } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServing, type Serving, type ServingSettings } from '../src/app.js';
import { openServingTestEnv, type ServingTestEnv } from './serving-env.js';

// Re-ranking a customer after a purchase (ADR 017), through real Postgres and Redis: the run keeps
// its histories, serving builds the run's ranker from them, and a purchase the run has not read
// ranks the customer again, as the eval's "lambdarec batch + session" row measures it.
const log = testLogger('serving-rerank-test');
const DAY = 86_400_000;
const AS_OF = Date.now() - 3_600_000;
let env: ServingTestEnv;
let pool: PgPool;
let redis: Redis;
let settings: ServingSettings;
let sessions: SessionStore;
/** Serving as configured by default (re-ranking on), and the same with it off: the merge only, as before ADR 017. */
let serving: Serving;
let servingWithout: Serving;
let run: BatchRun;
let runId: string;

/** A purchase row: bought `count` times, a week apart, the last `daysAgo` days before the run. */
const bought = (userId: string, productId: string, category: string, count = 1, daysAgo = 3): Interaction => {
  const lastAt = AS_OF - daysAgo * DAY;
  const lastDay = Math.floor(lastAt / DAY);
  return {
    userId,
    productId,
    type: 'purchase',
    count,
    lastAt,
    category,
    purchaseDays: Array.from({ length: count }, (_, i) => lastDay - (count - 1 - i) * 7),
  };
};

/**
 * Coffee drinkers buy coffee and filters, tea drinkers tea (again and again) and biscuits; the
 * fridge is bought once. `me` has bought coffee and filters: none of the tea drinkers shares a
 * product with them, until they buy tea.
 */
const HISTORY: Interaction[] = [
  ...['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].flatMap((u, i) => [
    bought(u, 'coffee', 'drinks', 2 + (i % 2)),
    bought(u, 'filters', 'kitchen', 2),
    ...(i < 3 ? [bought(u, 'mug', 'kitchen')] : []),
  ]),
  ...['t1', 't2', 't3', 't4', 't5', 't6'].flatMap((u, i) => [
    bought(u, 'tea', 'drinks', 3),
    bought(u, 'biscuits', 'snacks', 2),
    ...(i < 2 ? [bought(u, 'honey', 'snacks')] : []),
  ]),
  ...['f1', 'f2', 'f3', 'f4', 'f5', 'f6'].map((u) => bought(u, 'fridge', 'appliances')),
  bought('me', 'coffee', 'drinks', 2),
  bought('me', 'filters', 'kitchen'),
  // A purchase the run read although it is dated after the run's asOf (a client's clock ahead).
  { ...bought('late', 'coffee', 'drinks'), lastAt: AS_OF + 30_000, purchaseDays: [Math.floor((AS_OF + 30_000) / DAY)] },
];

const purchase = (userId: string, productId: string, category: string, at = Date.now()): SessionSignal => ({
  eventId: randomUUID(),
  userId,
  type: 'purchase',
  productId,
  category,
  at,
});
const event = (userId: string, type: SessionSignal['type'], productId: string, category: string): SessionSignal => ({
  ...purchase(userId, productId, category),
  type,
});

type Item = { productId: string; score: number; category: string | null; reasons: string[] };

async function recommend(on: Serving, userId: string): Promise<Item[]> {
  const res = await on.app.inject(`/recommendations/${userId}?limit=20`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items;
}

/**
 * The answer by definition, from the domain alone (as `tools/eval`'s re-ranked row computes it):
 * the run ranks the history with the purchases folded in, and the merge takes that list with the
 * purchases only suppressing, a kept staple's re-buy share at no weight.
 */
function expectedAnswer(userId: string, purchases: Array<{ productId: string; category: string; at: number }>, at: number): Item[] {
  const history = groupByUser(HISTORY).find((h) => h.userId === userId)?.rows ?? [];
  const personal = run.rankHistory(userId, withPurchases(userId, history, purchases), at);
  const policy = sessionPolicyFrom(settings);
  const categoryOf = new Map(purchases.map((p) => [p.productId, p.category]));
  const profile = buildSessionProfile(
    [],
    new Map(purchases.map((p) => [p.productId, p.at])),
    at,
    policy,
    (productId) => categoryOf.get(productId) ?? null,
    (productId) =>
      decideRepurchase(
        {
          product: run.model.repurchase.products.get(productId),
          category: run.model.repurchase.categories.get(categoryOf.get(productId)!),
        },
        policy,
      ),
  );
  return mergeRecommendations({
    personal,
    similarToRecent: new Map(),
    popular: run.model.popular,
    session: profile,
    catalog: new Map(),
    limit: 20,
    policy,
    weights: { ...DEFAULT_MERGE_WEIGHTS, rebought: 0 },
  });
}

/** A count of `lrec_serving_reranks_total` from a Prometheus text page (0 when absent). */
const reranks = (metrics: string, outcome: string) =>
  Number(new RegExp(`^lrec_serving_reranks_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
const rounded = (items: readonly Item[]) => items.map((item) => ({ ...item, score: Math.round(item.score * 1e4) / 1e4 }));
const ids = (items: readonly Item[]) => items.map((item) => item.productId);
const reasonsOf = (items: readonly Item[], productId: string) => items.find((item) => item.productId === productId)?.reasons ?? [];

beforeAll(async () => {
  env = await openServingTestEnv('serving-rerank-test', log);
  ({ pool, redis, settings, sessions } = env);
  run = computeBatchRun(HISTORY, AS_OF, DEFAULT_BATCH_POLICY);
  const runs = createBatchRunsRepository({ pool });
  runId = randomUUID();
  await runs.create({ runId, trigger: 'test' });
  await runs.markRunning(runId);
  await publishWholeModel({ pool, runs }, runId, run.model, {}, undefined, groupByUser(HISTORY));
  serving = await createServing({ pool, redis, config: settings, log, registry: createMetricsRegistry('serving-rerank-test') });
  servingWithout = await createServing({
    pool,
    redis,
    config: { ...settings, RERANK_AFTER_PURCHASE: false },
    log,
    registry: createMetricsRegistry('serving-rerank-test-off'),
  });
  expect(servingWithout.rankers).toBeUndefined();
  const ranker = await serving.rankers!.ready(runId);
  expect(ranker).toMatchObject({ asOf: AS_OF, customers: 20 });
});

afterAll(async () => {
  await serving?.close();
  await servingWithout?.close();
  await env?.close();
});

describe('after a purchase the run has not read', () => {
  it('ranks the customer again: the customers who buy what was just bought bring what they buy with it', async () => {
    const before = await recommend(serving, 'me');
    expect(before).toEqual(await recommend(servingWithout, 'me'));
    expect(reasonsOf(before, 'biscuits').filter((r) => r.startsWith('batch:'))).toEqual([]);

    const at = Date.now();
    await sessions.record([purchase('me', 'tea', 'drinks', at)]);
    const after = await recommend(serving, 'me');
    // Tea drinkers are now the customer's neighbours: their biscuits come in from the batch side.
    expect(reasonsOf(after, 'biscuits').some((r) => r.startsWith('batch:'))).toBe(true);
    // Tea is re-bought by most of its buyers: it stays, saying why, as DESIGN's rule says.
    expect(reasonsOf(after, 'tea')).toContain('session:bought-again-often:product');
    expect(rounded(after)).toEqual(rounded(expectedAnswer('me', [{ productId: 'tea', category: 'drinks', at }], Date.now())));

    // Asked again within the minute, the same purchases: the same list, counted as reused.
    expect(await recommend(serving, 'me')).toEqual(after);
    const metrics = (await serving.app.inject('/metrics')).body;
    expect(reranks(metrics, 'ranked')).toBeGreaterThanOrEqual(1);
    expect(reranks(metrics, 'reused')).toBeGreaterThanOrEqual(1);

    // With re-ranking off, the same session: the purchase suppresses and boosts, the neighbours stay.
    const today = await recommend(servingWithout, 'me');
    expect(reasonsOf(today, 'biscuits').filter((r) => r.startsWith('batch:'))).toEqual([]);
    expect(after).not.toEqual(today);
  });

  it('suppresses a product customers rarely buy again, as before', async () => {
    const at = Date.now();
    await sessions.record([purchase('c1', 'fridge', 'appliances', at)]);
    const after = await recommend(serving, 'c1');
    expect(ids(after)).not.toContain('fridge');
    expect(rounded(after)).toEqual(rounded(expectedAnswer('c1', [{ productId: 'fridge', category: 'appliances', at }], Date.now())));
  });

  it('ranks a customer the run never saw from their first purchase', async () => {
    const at = Date.now();
    await sessions.record([purchase('newcomer', 'coffee', 'drinks', at)]);
    const after = await recommend(serving, 'newcomer');
    expect(reasonsOf(after, 'filters').some((r) => r.startsWith('batch:'))).toBe(true);
    expect(rounded(after)).toEqual(rounded(expectedAnswer('newcomer', [{ productId: 'coffee', category: 'drinks', at }], Date.now())));
  });
});

describe('the rest of the session, with a re-rank', () => {
  it('still lets views boost their category and leaves carted products out', async () => {
    await sessions.record([
      purchase('c4', 'tea', 'drinks'),
      event('c4', 'view', 'mug', 'kitchen'),
      event('c4', 'add_to_cart', 'honey', 'snacks'),
    ]);
    const answer = await recommend(serving, 'c4');
    expect(reasonsOf(answer, 'biscuits').some((r) => r.startsWith('batch:'))).toBe(true);
    expect(ids(answer)).not.toContain('honey');
    expect(answer.some((item) => item.reasons.includes('session:category-boost:kitchen'))).toBe(true);
  });
});

describe('without a purchase the run has not read', () => {
  it('answers as before when the run already read the purchase', async () => {
    await sessions.record([purchase('c2', 'tea', 'drinks', AS_OF - 60_000)]);
    expect(await recommend(serving, 'c2')).toEqual(await recommend(servingWithout, 'c2'));
  });

  it('answers as before when the history shows the run read a purchase dated after its asOf', async () => {
    await sessions.record([purchase('late', 'coffee', 'drinks', AS_OF + 30_000)]);
    expect(await recommend(serving, 'late')).toEqual(await recommend(servingWithout, 'late'));
  });

  it("folds in no purchase that arrived inside a bot flag's burst (it stays out of the batch model)", async () => {
    const arrived = Date.now();
    // The same page four times within two seconds raises a flag; the purchase arrives inside it.
    const burst = [0, 500, 1_000, 1_500].map((offset) => ({ ...event('c5', 'view', 'mug', 'kitchen'), arrivedAt: arrived + offset }));
    const flags = await sessions.record([...burst, { ...purchase('c5', 'tea', 'drinks'), arrivedAt: arrived + 2_000 }]);
    expect(flags).toMatchObject([{ userId: 'c5', raised: true }]);
    expect((await sessions.read('c5')).flaggedPurchases).toEqual(new Set(['tea']));
    expect(await recommend(serving, 'c5')).toEqual(await recommend(servingWithout, 'c5'));
  });

  it('answers as before, and counts it, when the history cannot be read', async () => {
    await sessions.record([purchase('c6', 'tea', 'drinks')]);
    const failedBefore = reranks((await serving.app.inject('/metrics')).body, 'failed');
    await pool.query('ALTER TABLE rec_user_history RENAME TO rec_user_history_away');
    try {
      expect(await recommend(serving, 'c6')).toEqual(await recommend(servingWithout, 'c6'));
    } finally {
      await pool.query('ALTER TABLE rec_user_history_away RENAME TO rec_user_history');
    }
    expect(reranks((await serving.app.inject('/metrics')).body, 'failed')).toBe(failedBefore + 1);
    // Once it can be read again, the purchase ranks the customer again.
    expect(reasonsOf(await recommend(serving, 'c6'), 'biscuits').some((r) => r.startsWith('batch:'))).toBe(true);
  });

  it('answers as before for a run that kept no histories', async () => {
    const runs = createBatchRunsRepository({ pool });
    const older = randomUUID();
    await runs.create({ runId: older, trigger: 'test' });
    await runs.markRunning(older);
    await publishWholeModel({ pool, runs }, older, run.model);
    await serving.batchCache.refresh();
    await servingWithout.batchCache.refresh();
    expect(await serving.rankers!.ready(older)).toBeUndefined();
    await sessions.record([purchase('c3', 'tea', 'drinks')]);
    const answer = await recommend(serving, 'c3');
    expect(answer).toEqual(await recommend(servingWithout, 'c3'));
    expect(reasonsOf(answer, 'biscuits').filter((r) => r.startsWith('batch:'))).toEqual([]);
  });
});
