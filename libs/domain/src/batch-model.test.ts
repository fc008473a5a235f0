import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '@lambdarec/contracts';
import { seededRandom } from './seeded-random.js';
import { computeBatchModel } from './batch-model.js';
import { DEFAULT_BATCH_POLICY, type BatchPolicy } from './batch-policy.js';
import { CooccurrenceShard, PairLimitError } from './co-occurrence.js';
import { BOUGHT_BEFORE_REASON, type ScoredItem } from './scored-item.js';
import { SimilarityIndex } from './similarity-index.js';
import { groupByUser, type Interaction } from './user-history.js';
import { rankUser, reasonsOf, userRecommendations } from './user-ranking.js';
import { userProfile, userSignals } from './user-signals.js';

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
    expect(model.repurchase.products.size).toBe(0);
    expect(model.repurchase.categories.size).toBe(0);
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

  it('every per-user reason is a product that user bought or a product similar to one they interacted with', () => {
    const rows = [
      ...CO_OCCURRENCE,
      buildInteraction({ userId: 'u1', productId: 'A', type: 'purchase', count: 2 }),
      buildInteraction({ userId: 'u6', productId: 'D', type: 'purchase' }),
      buildInteraction({ userId: 'u7', productId: 'C', type: 'add_to_cart' }),
    ];
    const model = computeBatchModel(rows, AS_OF, policy);
    const history = new Map<string, Set<string>>();
    const bought = new Set<string>();
    for (const row of rows) {
      if (!history.has(row.userId)) history.set(row.userId, new Set());
      history.get(row.userId)!.add(row.productId);
      if (row.type === 'purchase') bought.add(`${row.userId}/${row.productId}`);
    }
    expect(model.perUser.size).toBeGreaterThan(0);
    for (const [userId, items] of model.perUser) {
      for (const item of items) {
        expect(item.reasons.length).toBeGreaterThan(0);
        for (const reason of item.reasons) {
          if (reason === BOUGHT_BEFORE_REASON) expect(bought).toContain(`${userId}/${item.productId}`);
          else expect(history.get(userId)).toContain(/^batch:similar-to:(.+)$/.exec(reason)?.[1]);
        }
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
    const allFresh = computeBatchModel(rows.map((row) => ({ ...row, lastAt: AS_OF })), AS_OF, policy);
    expect(allFresh.similar).toEqual(model.similar);
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

describe('computeBatchModel per-user lists', () => {
  it("a customer's own re-bought products are in their list as 'batch:bought-before', ranked by how often they bought them", () => {
    const rows = [
      buildInteraction({ userId: 'me', productId: 'once', type: 'purchase', count: 1 }),
      buildInteraction({ userId: 'me', productId: 'thrice', type: 'purchase', count: 3 }),
      buildInteraction({ userId: 'me', productId: 'twice', type: 'purchase', count: 2 }),
    ];
    const list = computeBatchModel(rows, AS_OF, policy).perUser.get('me');
    expect(list?.map((item) => item.productId)).toEqual(['thrice', 'twice', 'once']);
    for (const item of list!) expect(item.reasons[0]).toBe(BOUGHT_BEFORE_REASON);
  });

  it("a re-buy candidate scores the customer's purchases of it against their most bought product", () => {
    const rows = [
      buildInteraction({ userId: 'me', productId: 'staple', type: 'purchase', count: 4 }),
      buildInteraction({ userId: 'me', productId: 'treat', type: 'purchase', count: 1 }),
    ];
    // Without the neighbour side, only the re-buys count.
    const list = computeBatchModel(rows, AS_OF, { ...policy, neighbourWeight: 0 }).perUser.get('me');
    expect(list?.map((item) => [item.productId, item.score])).toEqual([
      ['staple', 1],
      ['treat', 0.25],
    ]);
  });

  it('a purchase one profile half-life old counts half as much as a fresh one', () => {
    const rows = [
      buildInteraction({ userId: 'me', productId: 'fresh', type: 'purchase', lastAt: AS_OF }),
      buildInteraction({ userId: 'me', productId: 'last-year', type: 'purchase', lastAt: AS_OF - policy.profileHalfLifeMs }),
    ];
    const list = computeBatchModel(rows, AS_OF, { ...policy, neighbourWeight: 0 }).perUser.get('me');
    expect(list?.map((item) => item.productId)).toEqual(['fresh', 'last-year']);
    expect(list?.[1]?.score).toBeCloseTo(0.5, 10);
  });

  it('a customer whose purchases have no neighbours still gets them back as re-buy candidates', () => {
    const model = computeBatchModel([buildInteraction({ userId: 'loner', productId: 'X', type: 'purchase', count: 2 })], AS_OF, policy);
    expect(model.perUser.get('loner')).toEqual([{ productId: 'X', score: 1, category: null, reasons: [BOUGHT_BEFORE_REASON] }]);
  });

  it('a viewed, clicked or carted product is not a re-buy candidate', () => {
    const rows = [
      buildInteraction({ userId: 'me', productId: 'bought', type: 'purchase' }),
      buildInteraction({ userId: 'me', productId: 'viewed', type: 'view', count: 9 }),
      buildInteraction({ userId: 'me', productId: 'clicked', type: 'click' }),
      buildInteraction({ userId: 'me', productId: 'carted', type: 'add_to_cart' }),
    ];
    const list = computeBatchModel(rows, AS_OF, policy).perUser.get('me')!;
    expect(list.filter((item) => item.reasons.includes(BOUGHT_BEFORE_REASON)).map((item) => item.productId)).toEqual(['bought']);
    // They still feed the profile: their neighbours are in the list (here, each other and the bought one).
    expect(list.map((item) => item.productId).sort()).toEqual(['bought', 'carted', 'clicked', 'viewed']);
  });

  it('a viewed-only customer without neighbours gets no list: views alone are no re-buy candidates', () => {
    const model = computeBatchModel([buildInteraction({ userId: 'browser', productId: 'X', type: 'view', count: 5 })], AS_OF, policy);
    expect(model.perUser.has('browser')).toBe(false);
  });

  it('a product both bought and similar to another of their products says both and scores the sum', () => {
    // Two products bought once each by one customer: each is the other's only neighbour, similarity 1.
    const rows = [
      buildInteraction({ userId: 'me', productId: 'A', type: 'purchase' }),
      buildInteraction({ userId: 'me', productId: 'B', type: 'purchase' }),
    ];
    const list = computeBatchModel(rows, AS_OF, policy).perUser.get('me');
    const both = expect.closeTo(1 + policy.neighbourWeight, 10);
    expect(list).toEqual([
      { productId: 'A', score: both, category: null, reasons: [BOUGHT_BEFORE_REASON, 'batch:similar-to:B'] },
      { productId: 'B', score: both, category: null, reasons: [BOUGHT_BEFORE_REASON, 'batch:similar-to:A'] },
    ]);
  });

  it("neighbourWeight sets how similar items rank against the customer's own re-buys", () => {
    // Others bought P with N; I bought P only.
    const rows = [
      buildInteraction({ userId: 'me', productId: 'P', type: 'purchase' }),
      buildInteraction({ userId: 'o1', productId: 'P', type: 'purchase' }),
      buildInteraction({ userId: 'o1', productId: 'N', type: 'purchase' }),
    ];
    const scored = (neighbourWeight: number) =>
      computeBatchModel(rows, AS_OF, { ...policy, neighbourWeight })
        .perUser.get('me')
        ?.map((item) => [item.productId, item.score, item.reasons]);
    expect(scored(0.3)).toEqual([
      ['P', 1, [BOUGHT_BEFORE_REASON]],
      ['N', 0.3, ['batch:similar-to:P']],
    ]);
    expect(scored(2)).toEqual([
      ['N', 2, ['batch:similar-to:P']],
      ['P', 1, [BOUGHT_BEFORE_REASON]],
    ]);
  });

  it('a neighbour of an interaction one profile half-life old counts half as much as one of a fresh interaction', () => {
    // A and B are each seen with one other product by one other user; I saw A last year and B now.
    const rows = [
      buildInteraction({ userId: 'me', productId: 'A', lastAt: AS_OF - policy.profileHalfLifeMs }),
      buildInteraction({ userId: 'me', productId: 'B', lastAt: AS_OF }),
      ...views({ o1: ['A', 'nearA'], o2: ['B', 'nearB'] }),
    ];
    const model = computeBatchModel(rows, AS_OF, policy);
    expect(similarity(model, 'A', 'nearA')).toBe(similarity(model, 'B', 'nearB'));
    const list = model.perUser.get('me')!;
    const scoreOf = (productId: string) => list.find((item) => item.productId === productId)?.score;
    expect(scoreOf('nearA')).toBeCloseTo(scoreOf('nearB')! / 2, 10);
    expect(list.find((item) => item.productId === 'nearA')?.reasons).toEqual(['batch:similar-to:A']);
  });

  it('a neighbour of two of the customer\'s products ranks above a neighbour of one', () => {
    // both: seen with A and with B by others; single: seen with A only, by more people.
    const rows = [
      ...views({ me: ['A', 'B'] }),
      ...views({ o1: ['A', 'both'], o2: ['B', 'both'], o3: ['A', 'single'], o4: ['A', 'single'] }),
    ];
    const list = computeBatchModel(rows, AS_OF, policy).perUser.get('me')!;
    const ranked = list.map((item) => item.productId);
    expect(ranked.indexOf('both')).toBeLessThan(ranked.indexOf('single'));
  });
});

describe('computeBatchModel popularity per category', () => {
  it("lists each category's most popular products, best first, capped, products without a category left out", () => {
    const rows = [
      ...['u1', 'u2', 'u3'].map((userId) => buildInteraction({ userId, productId: 'boots', category: 'shoes' })),
      buildInteraction({ userId: 'u1', productId: 'sandals', category: 'shoes' }),
      ...['u1', 'u2'].map((userId) => buildInteraction({ userId, productId: 'sneakers', category: 'shoes' })),
      buildInteraction({ userId: 'u4', productId: 'scarf', category: 'wool' }),
      buildInteraction({ userId: 'u4', productId: 'mystery', category: null }),
    ];
    const { popularByCategory } = computeBatchModel(rows, AS_OF, { ...policy, popularPerCategory: 2 });
    expect([...popularByCategory.keys()].sort()).toEqual(['shoes', 'wool']);
    expect(popularByCategory.get('shoes')!.map((item) => item.productId)).toEqual(['boots', 'sneakers']);
    expect(popularByCategory.get('shoes')![0]).toMatchObject({ category: 'shoes', reasons: ['popular'] });
    expect(popularByCategory.get('wool')!.map((item) => item.productId)).toEqual(['scarf']);
  });
});

describe('computeBatchModel repurchase figures', () => {
  it('counts per product the customers who bought it and those who bought it at least twice', () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'tea', type: 'purchase', count: 1 }),
      buildInteraction({ userId: 'u2', productId: 'tea', type: 'purchase', count: 3 }),
      buildInteraction({ userId: 'u3', productId: 'tea', type: 'purchase', count: 2 }),
      // Views and carts are not purchases, however many.
      buildInteraction({ userId: 'u4', productId: 'tea', type: 'view', count: 5 }),
      buildInteraction({ userId: 'u5', productId: 'tea', type: 'add_to_cart', count: 2 }),
      buildInteraction({ userId: 'u4', productId: 'browsed', type: 'view', count: 5 }),
    ];
    const { repurchase } = computeBatchModel(rows, AS_OF, policy);
    expect(repurchase.products).toEqual(new Map([['tea', { buyers: 3, rebuyers: 2 }]]));
  });

  it('counts a re-buy however long ago it was', () => {
    const rows = [buildInteraction({ userId: 'u1', productId: 'tea', type: 'purchase', count: 2, lastAt: AS_OF - 10 * 365 * DAY })];
    expect(computeBatchModel(rows, AS_OF, policy).repurchase.products.get('tea')).toEqual({ buyers: 1, rebuyers: 1 });
  });

  it("sums a category's products' figures, each product in its most frequent category", () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'green', type: 'purchase', count: 2, category: 'tea' }),
      buildInteraction({ userId: 'u2', productId: 'green', type: 'purchase', count: 1, category: 'tea' }),
      buildInteraction({ userId: 'u1', productId: 'black', type: 'purchase', count: 4, category: 'tea' }),
      // The cup's one tea event is outvoted by two kitchen events: its figures go to kitchen.
      buildInteraction({ userId: 'u3', productId: 'cup', type: 'purchase', count: 1, category: 'tea' }),
      buildInteraction({ userId: 'u4', productId: 'cup', type: 'view', count: 2, category: 'kitchen' }),
      // No category: in the product figures only.
      buildInteraction({ userId: 'u5', productId: 'mystery', type: 'purchase', count: 3, category: null }),
    ];
    const { repurchase } = computeBatchModel(rows, AS_OF, policy);
    expect(repurchase.categories).toEqual(
      new Map([
        ['tea', { buyers: 3, rebuyers: 2 }],
        ['kitchen', { buyers: 1, rebuyers: 0 }],
      ]),
    );
    expect(repurchase.products.get('mystery')).toEqual({ buyers: 1, rebuyers: 1 });
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
        rows.push({ userId: `u${user}`, productId, type, count: 1 + Math.floor(random() * 3), lastAt: AS_OF - Math.floor(random() * 365) * DAY, category });
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

describe('ranking a user against the similarity index', () => {
  /** Every candidate of a user ranked by a full sort: the definition the cut-off must agree with. */
  const fullSort = (seeds: Array<[string, number]>, purchased: Map<string, number>, similar: Map<string, ScoredItem[]>, neighbourWeight: number, n: number) => {
    const sums = new Map<string, number>();
    const topInterest = seeds[0]?.[1] ?? 0;
    for (const [seed, interest] of seeds) for (const item of similar.get(seed) ?? []) sums.set(item.productId, (sums.get(item.productId) ?? 0) + (interest / topInterest) * item.score);
    const top = Math.max(0, ...sums.values());
    const scores = new Map(purchased);
    if (top > 0) for (const [productId, sum] of sums) scores.set(productId, (purchased.get(productId) ?? 0) + (neighbourWeight * sum) / top);
    return [...scores]
      .filter(([, score]) => score > 0)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([productId]) => productId);
  };

  it('keeps the best n by score, ties at the cut-off in name order, as a full sort of all candidates would', () => {
    const random = seededRandom(3);
    // Scores from a few values only, so that many candidates tie, at the cut-off too.
    const similar = new Map<string, ScoredItem[]>();
    for (let seed = 0; seed < 20; seed++) {
      const items = Array.from({ length: 30 }, (_, k) => ({ productId: `p${(seed * 7 + k * 3) % 90}`, score: [0.25, 0.5, 0.75][Math.floor(random() * 3)]!, category: null, reasons: [] }));
      similar.set(`s${seed}`, items.filter((item, k) => items.findIndex((other) => other.productId === item.productId) === k));
    }
    const index = new SimilarityIndex(similar);
    for (let trial = 0; trial < 200; trial++) {
      const seeds: Array<[string, number]> = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, k): [string, number] => [`s${Math.floor(random() * 20)}`, 4 - k]);
      const unique = seeds.filter(([seed], k) => seeds.findIndex(([other]) => other === seed) === k);
      const purchased = new Map([[`p${Math.floor(random() * 90)}`, 1], ['never-similar', 0.5]]);
      const n = 1 + Math.floor(random() * 40);
      const ranked = index.topCandidates(unique, purchased, 0.3, n).map((candidate) => candidate.productId);
      expect(ranked).toEqual(fullSort(unique, purchased, similar, 0.3, n));
    }
  });

  it('rankUser ranks as userRecommendations does, which only adds categories and reasons', () => {
    const random = seededRandom(8);
    const rows: Interaction[] = [];
    for (let user = 0; user < 200; user++) {
      for (let k = 1 + Math.floor(random() * 8); k > 0; k--) {
        const type = EVENT_TYPES[Math.floor(random() * EVENT_TYPES.length)]!;
        rows.push(buildInteraction({ userId: `u${user}`, productId: `p${Math.floor(random() ** 2 * 40)}`, type, lastAt: AS_OF - Math.floor(random() * 300) * DAY }));
      }
    }
    const model = computeBatchModel(rows, AS_OF, { ...policy, topNPerUser: 10 });
    const index = new SimilarityIndex(model.similar);
    const categoryOf = new Map<string, string | null>();
    for (const { userId, rows: history } of groupByUser(rows)) {
      const ranked = rankUser(userProfile(history, AS_OF, policy), index, { ...policy, topNPerUser: 10 });
      const items = userRecommendations(userSignals(history, AS_OF, policy), index, categoryOf, { ...policy, topNPerUser: 10 });
      expect(ranked.map((candidate) => ({ productId: candidate.productId, score: candidate.score, category: null, reasons: reasonsOf(candidate) }))).toEqual(items);
      expect(items).toEqual(model.perUser.get(userId) ?? []);
    }
  });
});

