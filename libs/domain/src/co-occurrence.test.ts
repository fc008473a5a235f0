import { describe, expect, it } from 'vitest';
import { computeBatchModel } from './batch-model.js';
import { CooccurrenceShard, PairLimitError } from './co-occurrence.js';
import { AS_OF, buildInteraction, CO_OCCURRENCE, DAY, policy, similarity, views } from '../test/batch-history.js';

describe('computeBatchModel similar items', () => {
  it('items co-occurring in many histories are more similar than items co-occurring once', () => {
    const model = computeBatchModel(CO_OCCURRENCE, AS_OF, policy);
    const ab = similarity(model, 'A', 'B');
    const ac = similarity(model, 'A', 'C');
    expect(ab).toBeDefined();
    expect(ac).toBeDefined();
    expect(ab!).toBeGreaterThan(ac!);
    expect(model.similar.get('A')?.map((item) => item.productId)).toEqual(['B', 'C']);
  });

  it('computes cosine similarity over users: A and B share 4 of their 5 users each → 4/5', () => {
    const model = computeBatchModel(CO_OCCURRENCE, AS_OF, policy);
    expect(similarity(model, 'A', 'B')).toBeCloseTo(4 / 5, 10);
    expect(similarity(model, 'A', 'C')).toBeCloseTo(1 / Math.sqrt(10), 10);
  });

  it('damps interest logarithmically, so one heavy user does not dominate a similarity', () => {
    const rows = [
      buildInteraction({ userId: 'heavy', productId: 'A', count: 3 }),
      buildInteraction({ userId: 'heavy', productId: 'B', count: 1 }),
      buildInteraction({ userId: 'light', productId: 'A', count: 1 }),
    ];
    const [heavyA, one] = [Math.log1p(3), Math.log1p(1)];
    // Undamped this would be 3/√10 ≈ 0.949.
    const expected = (heavyA * one) / Math.sqrt((heavyA ** 2 + one ** 2) * one ** 2);
    expect(similarity(computeBatchModel(rows, AS_OF, policy), 'A', 'B')).toBeCloseTo(expected, 10);
  });

  it('similarity is symmetric', () => {
    const model = computeBatchModel(CO_OCCURRENCE, AS_OF, policy);
    for (const [from, list] of model.similar) {
      for (const item of list) expect(similarity(model, item.productId, from)).toBe(item.score);
    }
    expect(model.stats.similarityPairs).toBe(3); // A-B, A-C, C-D
  });

  it('products never seen together are not similar', () => {
    const model = computeBatchModel(CO_OCCURRENCE, AS_OF, policy);
    expect(similarity(model, 'A', 'D')).toBeUndefined();
    expect(similarity(model, 'B', 'C')).toBeUndefined();
  });

  it('each similar item names the product it is similar to and carries its category', () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'A', category: 'shoes' }),
      buildInteraction({ userId: 'u1', productId: 'B', category: 'socks' }),
    ];
    const model = computeBatchModel(rows, AS_OF, policy);
    expect(model.similar.get('A')).toEqual([
      { productId: 'B', score: expect.closeTo(1, 10), category: 'socks', reasons: ['batch:similar-to:A'] },
    ]);
  });

  it('keeps at most similarPerItem neighbours per product, the most similar first', () => {
    const rows = views({ u1: ['A', 'B', 'C'], u2: ['A', 'B'], u3: ['A', 'D'], u4: ['D'] });
    const model = computeBatchModel(rows, AS_OF, { ...policy, similarPerItem: 1 });
    for (const list of model.similar.values()) expect(list).toHaveLength(1);
    expect(model.similar.get('A')?.[0]?.productId).toBe('B');
    expect(computeBatchModel(rows, AS_OF, policy).similar.get('A')).toHaveLength(3);
  });

  it("bounds co-occurrence to a user's maxItemsPerUser strongest products", () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'bought', type: 'purchase' }),
      buildInteraction({ userId: 'u1', productId: 'carted', type: 'add_to_cart' }),
      buildInteraction({ userId: 'u1', productId: 'viewed', type: 'view' }),
    ];
    const one = computeBatchModel(rows, AS_OF, { ...policy, maxItemsPerUser: 1 });
    expect(one.stats.similarityPairs).toBe(0);
    expect(one.similar.size).toBe(0);
    const two = computeBatchModel(rows, AS_OF, { ...policy, maxItemsPerUser: 2 });
    expect(two.stats.similarityPairs).toBe(1);
    expect([...two.similar.keys()].sort()).toEqual(['bought', 'carted']);
    // The cap only bounds pairs: popularity still counts every product.
    expect(two.popular).toHaveLength(3);
  });

  it('similarity is not decayed by age: an old co-purchase gives the same similarity as a fresh one', () => {
    const rows = [
      buildInteraction({ userId: 'old', productId: 'A', type: 'purchase', lastAt: AS_OF - 3 * 365 * DAY }),
      buildInteraction({ userId: 'old', productId: 'B', type: 'purchase', lastAt: AS_OF - 3 * 365 * DAY }),
      buildInteraction({ userId: 'fresh', productId: 'A', type: 'purchase', lastAt: AS_OF }),
      buildInteraction({ userId: 'fresh', productId: 'C', type: 'purchase', lastAt: AS_OF }),
    ];
    const model = computeBatchModel(rows, AS_OF, policy);
    expect(similarity(model, 'A', 'B')).toBeCloseTo(1 / Math.sqrt(2), 10);
    expect(similarity(model, 'A', 'C')).toBe(similarity(model, 'A', 'B'));
    // The same histories all happening now give the same figures.
    const allFresh = computeBatchModel(
      rows.map((row) => ({ ...row, lastAt: AS_OF })),
      AS_OF,
      policy,
    );
    expect(allFresh.similar).toEqual(model.similar);
  });
});

describe('CooccurrenceShard', () => {
  it('a shard refuses to grow past its pair limit, with an error that says so', () => {
    const products = ['a', 'b', 'c', 'd'];
    const shard = new CooccurrenceShard(products, () => true, 5);
    shard.addUser([
      ['a', 1],
      ['b', 1],
    ]);
    expect(shard.pairs).toBe(2);
    expect(() =>
      shard.addUser([
        ['a', 1],
        ['c', 1],
        ['d', 1],
      ]),
    ).toThrow(PairLimitError);
  });

  it('a shard only keeps pairs of the products it owns, and still scores them against all norms', () => {
    const products = ['a', 'b', 'c'];
    const owned = new CooccurrenceShard(products, (index) => index === 0);
    owned.addUser([
      ['a', 1],
      ['b', 2],
    ]);
    owned.addUser([
      ['b', 1],
      ['c', 1],
    ]);
    expect(owned.pairs).toBe(1);
    const similar = owned.similarItems(policy, new Map());
    expect([...similar.keys()]).toEqual(['a']);
    // cos(a, b) = 1·2 / (|a| |b|) = 2 / (1 · √5)
    expect(similar.get('a')?.[0]?.score).toBeCloseTo(2 / Math.sqrt(5), 12);
  });
});
