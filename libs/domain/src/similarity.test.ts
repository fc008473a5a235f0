import { describe, expect, it } from 'vitest';
import { computeBatchModel, DEFAULT_BATCH_POLICY, type BatchPolicy, type Interaction } from './similarity.js';

const AS_OF = Date.parse('2025-03-01T00:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const policy: BatchPolicy = { ...DEFAULT_BATCH_POLICY };

const buildInteraction = (overrides: Partial<Interaction> = {}): Interaction => ({
  userId: 'u1',
  productId: 'p1',
  type: 'view',
  count: 1,
  lastAt: AS_OF,
  category: null,
  ...overrides,
});

/** One view per (user, product) pair. */
const views = (histories: Record<string, string[]>): Interaction[] =>
  Object.entries(histories).flatMap(([userId, products]) =>
    products.map((productId) => buildInteraction({ userId, productId })),
  );

const similarity = (model: ReturnType<typeof computeBatchModel>, from: string, to: string) =>
  model.similar.get(from)?.find((item) => item.productId === to)?.score;

// A and B are seen together by four users; A and C only by one. A, B have 5 users each, C has 2.
const CO_OCCURRENCE = views({
  u1: ['A', 'B'],
  u2: ['A', 'B'],
  u3: ['A', 'B'],
  u4: ['A', 'B'],
  u5: ['A', 'C'],
  u6: ['C', 'D'],
  u7: ['B'],
});

describe('computeBatchModel', () => {
  it('when there are no interactions, the model is empty', () => {
    const model = computeBatchModel([], AS_OF, policy);
    expect(model.similar.size).toBe(0);
    expect(model.perUser.size).toBe(0);
    expect(model.popular).toEqual([]);
    expect(model.stats).toEqual({ users: 0, items: 0, similarityPairs: 0 });
  });

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

  it("a user's top-N contains items similar to what they interacted with, naming the seed", () => {
    const model = computeBatchModel(CO_OCCURRENCE, AS_OF, policy);
    // u7 only saw B; A is B's neighbour.
    expect(model.perUser.get('u7')).toEqual([
      { productId: 'A', score: expect.any(Number), category: null, reasons: ['batch:similar-to:B'] },
    ]);
  });

  it('every per-user reason names a product that user really interacted with', () => {
    const model = computeBatchModel(CO_OCCURRENCE, AS_OF, policy);
    const history = new Map<string, Set<string>>();
    for (const row of CO_OCCURRENCE) {
      if (!history.has(row.userId)) history.set(row.userId, new Set());
      history.get(row.userId)!.add(row.productId);
    }
    expect(model.perUser.size).toBeGreaterThan(0);
    for (const [userId, items] of model.perUser) {
      for (const item of items) {
        expect(item.reasons).toHaveLength(1);
        const seed = /^batch:similar-to:(.+)$/.exec(item.reasons[0]!)?.[1];
        expect(history.get(userId)).toContain(seed);
      }
    }
  });

  it("a user's recommendation names the seed that contributed most to it", () => {
    // u9 purchased B and viewed C; A is similar to both, more strongly via the purchased B.
    const rows = [
      ...CO_OCCURRENCE,
      buildInteraction({ userId: 'u9', productId: 'B', type: 'purchase' }),
      buildInteraction({ userId: 'u9', productId: 'C', type: 'view' }),
    ];
    const model = computeBatchModel(rows, AS_OF, policy);
    expect(model.perUser.get('u9')?.find((item) => item.productId === 'A')?.reasons).toEqual(['batch:similar-to:B']);
  });

  it('a user whose products have no neighbours gets no per-user list', () => {
    const model = computeBatchModel(views({ loner: ['X'], u1: ['A', 'B'] }), AS_OF, policy);
    expect(model.perUser.has('loner')).toBe(false);
    expect(model.perUser.has('u1')).toBe(true);
  });

  it('ranks popularity by weighted interest: one purchase outweighs a view', () => {
    const model = computeBatchModel(
      [
        buildInteraction({ userId: 'u1', productId: 'viewed', type: 'view' }),
        buildInteraction({ userId: 'u2', productId: 'bought', type: 'purchase' }),
      ],
      AS_OF,
      policy,
    );
    expect(model.popular).toEqual([
      { productId: 'bought', score: 8, category: null, reasons: ['popular'] },
      { productId: 'viewed', score: 1, category: null, reasons: ['popular'] },
    ]);
  });

  it('counts repeated events and sums interest over users', () => {
    const model = computeBatchModel(
      [
        buildInteraction({ userId: 'u1', productId: 'p1', type: 'view', count: 3 }),
        buildInteraction({ userId: 'u2', productId: 'p1', type: 'click', count: 1 }),
        buildInteraction({ userId: 'u3', productId: 'p2', type: 'click', count: 2 }),
      ],
      AS_OF,
      policy,
    );
    expect(model.popular.map((item) => [item.productId, item.score])).toEqual([
      ['p1', 5],
      ['p2', 4],
    ]);
  });

  it('decays popularity by event time relative to asOf: an event one half-life old weighs half', () => {
    const model = computeBatchModel(
      [
        buildInteraction({ userId: 'u1', productId: 'old', lastAt: AS_OF - policy.interestHalfLifeMs }),
        buildInteraction({ userId: 'u2', productId: 'fresh', lastAt: AS_OF }),
      ],
      AS_OF,
      policy,
    );
    expect(model.popular.map((item) => [item.productId, item.score])).toEqual([
      ['fresh', 1],
      ['old', 0.5],
    ]);
  });

  it('an old purchase can fall below a fresh view once enough half-lives have passed', () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'old-purchase', type: 'purchase', lastAt: AS_OF - 4 * policy.interestHalfLifeMs }),
      buildInteraction({ userId: 'u2', productId: 'fresh-click', type: 'click', lastAt: AS_OF }),
    ];
    expect(computeBatchModel(rows, AS_OF, policy).popular.map((item) => item.productId)).toEqual(['fresh-click', 'old-purchase']);
  });

  it('breaks popularity ties by productId', () => {
    const model = computeBatchModel(views({ u1: ['c', 'a'], u2: ['b'] }), AS_OF, policy);
    expect(model.popular.map((item) => item.productId)).toEqual(['a', 'b', 'c']);
  });

  it("takes a product's category from the most frequent category of its events", () => {
    const model = computeBatchModel(
      [
        // By events: shoes 3, bags 2 (though bags has more rows and more weight); nulls do not vote.
        buildInteraction({ userId: 'u1', productId: 'p1', category: 'bags', type: 'purchase', count: 1 }),
        buildInteraction({ userId: 'u2', productId: 'p1', category: 'bags', type: 'view', count: 1 }),
        buildInteraction({ userId: 'u3', productId: 'p1', category: 'shoes', type: 'view', count: 3 }),
        buildInteraction({ userId: 'u4', productId: 'p1', category: null, type: 'view', count: 10 }),
      ],
      AS_OF,
      policy,
    );
    expect(model.popular[0]?.category).toBe('shoes');
  });

  it('when categories tie, picks the same one whatever the input order', () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'p1', category: 'shoes' }),
      buildInteraction({ userId: 'u2', productId: 'p1', category: 'bags' }),
    ];
    expect(computeBatchModel(rows, AS_OF, policy).popular[0]?.category).toBe('bags');
    expect(computeBatchModel([...rows].reverse(), AS_OF, policy).popular[0]?.category).toBe('bags');
  });

  it("when none of a product's events carries a category, its category is null", () => {
    const model = computeBatchModel([buildInteraction({ category: null })], AS_OF, policy);
    expect(model.popular[0]?.category).toBeNull();
  });

  it('keeps at most similarPerItem neighbours per product, the most similar first', () => {
    const rows = views({ u1: ['A', 'B', 'C'], u2: ['A', 'B'], u3: ['A', 'D'], u4: ['D'] });
    const model = computeBatchModel(rows, AS_OF, { ...policy, similarPerItem: 1 });
    for (const list of model.similar.values()) expect(list).toHaveLength(1);
    expect(model.similar.get('A')?.[0]?.productId).toBe('B');
    expect(computeBatchModel(rows, AS_OF, policy).similar.get('A')).toHaveLength(3);
  });

  it('keeps at most topNPerUser recommendations per user, the strongest first', () => {
    const rows = views({ u1: ['A', 'B', 'C', 'D'], u2: ['A', 'B'], u3: ['A', 'B', 'C'], me: ['A'] });
    const full = computeBatchModel(rows, AS_OF, policy).perUser.get('me');
    const capped = computeBatchModel(rows, AS_OF, { ...policy, topNPerUser: 2 }).perUser.get('me');
    expect(full?.map((item) => item.productId)).toEqual(['B', 'C', 'D']);
    expect(capped?.map((item) => item.productId)).toEqual(['B', 'C']);
    expect(full!.every((item, i) => i === 0 || full![i - 1]!.score >= item.score)).toBe(true);
  });

  it('keeps at most popularSize popular items', () => {
    const rows = views({ u1: ['a', 'b', 'c', 'd', 'e'] });
    expect(computeBatchModel(rows, AS_OF, { ...policy, popularSize: 2 }).popular).toHaveLength(2);
    expect(computeBatchModel(rows, AS_OF, policy).popular).toHaveLength(5);
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

  // BUG (similarity.ts, the `if (score <= 0) continue;` guard in the pair loop): an interaction whose
  // decayed weight underflows to 0 (an event decades before asOf, e.g. a 1970 timestamp, which the
  // event schema accepts) gives its product a norm of 0, so every pair with it scores 0/0 = NaN.
  // `NaN <= 0` is false, so NaN similarities are stored, counted in similarityPairs and flow into
  // per-user scores (NaN sorts arbitrarily and serialises as null).
  it('an event so old its weight decays to zero produces no NaN similarity', () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'ancient', lastAt: 0 }),
      buildInteraction({ userId: 'u1', productId: 'fresh', lastAt: AS_OF }),
    ];
    const model = computeBatchModel(rows, AS_OF, policy);
    const scores = [...model.similar.values(), ...model.perUser.values()].flat().map((item) => item.score);
    expect(scores.every((score) => Number.isFinite(score))).toBe(true);
    expect(model.stats.similarityPairs).toBe(0);
  });
});
