import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '@lambdarec/contracts';
import { computeBatchModel, computeBatchRun } from './batch-model.js';
import { withPurchases } from './purchase-fold.js';
import { groupByUser } from './user-history.js';
import { seededRandom } from './seeded-random.js';
import type { Interaction } from './user-history.js';
import { AS_OF, buildInteraction, CO_OCCURRENCE, DAY, policy, similarity } from '../test/batch-history.js';

describe('computeBatchModel', () => {
  it('when there are no interactions, the model is empty', () => {
    const model = computeBatchModel([], AS_OF, policy);
    expect(model.similar.size).toBe(0);
    expect(model.perUser.size).toBe(0);
    expect(model.popular).toEqual([]);
    expect(model.repurchase.products.size).toBe(0);
    expect(model.repurchase.categories.size).toBe(0);
    expect(model.stats).toEqual({ users: 0, items: 0, similarityPairs: 0 });
  });

  it('counts users, items and pairs in its statistics', () => {
    expect(computeBatchModel(CO_OCCURRENCE, AS_OF, policy).stats).toEqual({ users: 7, items: 4, similarityPairs: 3 });
  });

  it('reads interactions from any iterable, e.g. a generator streaming rows', () => {
    function* rows() {
      yield* CO_OCCURRENCE;
    }
    expect(computeBatchModel(rows(), AS_OF, policy)).toEqual(computeBatchModel(CO_OCCURRENCE, AS_OF, policy));
  });

  it('gives the same model for the same input (determinism)', () => {
    const rows = [
      ...CO_OCCURRENCE,
      buildInteraction({ userId: 'u8', productId: 'A', type: 'purchase', lastAt: AS_OF - 3 * DAY, category: 'shoes' }),
      buildInteraction({ userId: 'u8', productId: 'D', type: 'click', count: 4, lastAt: AS_OF - 20 * DAY }),
    ];
    expect(computeBatchModel(rows, AS_OF, policy)).toEqual(computeBatchModel(rows, AS_OF, policy));
  });

  it('ranks the same whatever order the rows arrive in', () => {
    const rows = [
      ...CO_OCCURRENCE,
      buildInteraction({ userId: 'u8', productId: 'A', type: 'purchase', lastAt: AS_OF - 3 * DAY }),
      buildInteraction({ userId: 'u8', productId: 'D', type: 'click', count: 4, lastAt: AS_OF - 20 * DAY }),
    ];
    const forward = computeBatchModel(rows, AS_OF, policy);
    const backward = computeBatchModel([...rows].reverse(), AS_OF, policy);
    const ranking = (model: typeof forward) => ({
      popular: model.popular.map((item) => item.productId),
      similar: [...model.similar.entries()].map(([id, list]) => [id, list.map((item) => item.productId)]).sort(),
      perUser: [...model.perUser.entries()].map(([id, list]) => [id, list.map((item) => item.productId)]).sort(),
    });
    expect(ranking(backward)).toEqual(ranking(forward));
  });

  it('an event so old that its decayed weight underflows still counts in similarity and gives finite scores everywhere', () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'ancient', type: 'purchase', lastAt: 0 }),
      buildInteraction({ userId: 'u1', productId: 'fresh', lastAt: AS_OF }),
    ];
    const model = computeBatchModel(rows, AS_OF, policy);
    const scores = [...model.similar.values(), ...model.perUser.values(), model.popular].flat().map((item) => item.score);
    expect(scores.length).toBeGreaterThan(0);
    expect(scores.every((score) => Number.isFinite(score))).toBe(true);
    expect(model.stats.similarityPairs).toBe(1);
    expect(similarity(model, 'ancient', 'fresh')).toBeGreaterThan(0);
  });
});

describe('computeBatchRun: ranking one more history against the run', () => {
  const bought = (userId: string, productId: string, daysAgo: number) =>
    buildInteraction({
      userId,
      productId,
      type: 'purchase',
      lastAt: AS_OF - daysAgo * DAY,
      purchaseDays: [Math.floor((AS_OF - daysAgo * DAY) / DAY)],
    });
  // Tea buyers also buy biscuits; coffee buyers also buy filters. u9 has only bought coffee.
  const rows = [
    ...['t1', 't2', 't3', 't4'].flatMap((u) => [bought(u, 'tea', 10), bought(u, 'biscuits', 10)]),
    ...['c1', 'c2', 'c3'].flatMap((u) => [bought(u, 'coffee', 12), bought(u, 'filters', 12)]),
    bought('u9', 'coffee', 30),
  ];
  const run = computeBatchRun(rows, AS_OF, policy);

  it("ranks a user's own history at the run's watermark as the run did, in any order (it keeps no state between users)", () => {
    for (const { userId, rows: history } of groupByUser(rows).reverse()) {
      expect(run.rankHistory(userId, history, AS_OF)).toEqual(run.model.perUser.get(userId) ?? []);
    }
  });

  it('after a checkout, finds the customers who buy what was just bought, and what they buy with it', () => {
    const before = run.model.perUser.get('u9')!.map((item) => item.productId);
    expect(before).not.toContain('biscuits');
    const history = groupByUser(rows).find((h) => h.userId === 'u9')!.rows;
    const at = AS_OF + DAY;
    const after = run.rankHistory('u9', withPurchases('u9', history, [{ productId: 'tea', at, category: null }]), at);
    const ids = after.map((item) => item.productId);
    expect(ids).toContain('biscuits');
    expect(ids.indexOf('biscuits')).toBeLessThan(ids.indexOf('filters'));
    expect(after.find((item) => item.productId === 'tea')!.reasons).toContain('batch:bought-before');
    // The run itself is unchanged: the re-ranked list is the caller's.
    expect(run.model.perUser.get('u9')!.map((item) => item.productId)).toEqual(before);
  });
});

describe('sharding the model', () => {
  /** A random history: 300 users, 60 products in 6 categories, every event type, a year of times. */
  const history = (seed: number): Interaction[] => {
    const random = seededRandom(seed);
    const rows: Interaction[] = [];
    for (let user = 0; user < 300; user++) {
      const seen = new Set<string>();
      for (let k = Math.floor(random() * 25); k > 0; k--) {
        const productId = `p${Math.floor(random() ** 2 * 60)}`;
        const type = EVENT_TYPES[Math.floor(random() * EVENT_TYPES.length)]!;
        if (seen.has(`${productId}/${type}`)) continue;
        seen.add(`${productId}/${type}`);
        const category = random() < 0.1 ? null : `c${Number(productId.slice(1)) % 6}`;
        rows.push({
          userId: `u${user}`,
          productId,
          type,
          count: 1 + Math.floor(random() * 3),
          lastAt: AS_OF - Math.floor(random() * 365) * DAY,
          category,
        });
      }
    }
    return rows;
  };

  it.each([2, 3, 7, 64])('cut into %i co-occurrence shards gives the very same model as one', (shards) => {
    const rows = history(shards);
    const whole = computeBatchModel(rows, AS_OF, { ...policy, maxItemsPerUser: 12, similarPerItem: 8 });
    const cut = computeBatchModel(rows, AS_OF, { ...policy, maxItemsPerUser: 12, similarPerItem: 8 }, { shards });
    expect(whole.stats.similarityPairs).toBeGreaterThan(100);
    expect(cut).toEqual(whole);
  });
});
