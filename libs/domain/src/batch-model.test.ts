import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '@lambdarec/contracts';
import { computeBatchModel } from './batch-model.js';
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
