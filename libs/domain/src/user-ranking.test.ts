import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '@lambdarec/contracts';
import { computeBatchModel, customerIndex } from './batch-model.js';
import { utcDay } from './rebuy-vector.js';
import { BOUGHT_BEFORE_REASON } from './scored-item.js';
import { seededRandom } from './seeded-random.js';
import { SimilarityIndex } from './similarity-index.js';
import { groupByUser, type Interaction } from './user-history.js';
import { rankUser, reasonsOf, userRecommendations } from './user-ranking.js';
import { userProfile, userSignals } from './user-signals.js';
import { AS_OF, buildInteraction, CO_OCCURRENCE, DAY, policy, similarity, views } from '../test/batch-history.js';

describe('computeBatchModel per-user lists', () => {
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

  it('keeps at most topNPerUser recommendations per user, the strongest first', () => {
    const rows = views({ u1: ['A', 'B', 'C', 'D'], u2: ['A', 'B'], u3: ['A', 'B', 'C'], me: ['A'] });
    const full = computeBatchModel(rows, AS_OF, policy).perUser.get('me');
    const capped = computeBatchModel(rows, AS_OF, { ...policy, topNPerUser: 2 }).perUser.get('me');
    expect(full?.map((item) => item.productId)).toEqual(['B', 'C', 'D']);
    expect(capped?.map((item) => item.productId)).toEqual(['B', 'C']);
    expect(full!.every((item, i) => i === 0 || full![i - 1]!.score >= item.score)).toBe(true);
  });

  it("a customer's own re-bought products are in their list as 'batch:bought-before', ranked by how many baskets held them", () => {
    const day = utcDay(AS_OF);
    const rows = [
      buildInteraction({ userId: 'me', productId: 'once', type: 'purchase', count: 5, purchaseDays: [day] }),
      buildInteraction({ userId: 'me', productId: 'thrice', type: 'purchase', count: 3, purchaseDays: [day - 2, day - 1, day] }),
      buildInteraction({ userId: 'me', productId: 'twice', type: 'purchase', count: 2, purchaseDays: [day - 1, day] }),
    ];
    const list = computeBatchModel(rows, AS_OF, policy).perUser.get('me');
    expect(list?.map((item) => item.productId)).toEqual(['thrice', 'twice', 'once']);
    for (const item of list!) expect(item.reasons[0]).toBe(BOUGHT_BEFORE_REASON);
  });

  it("a re-buy candidate scores the customer's re-buy vector against their strongest product", () => {
    const day = utcDay(AS_OF);
    // Four baskets in groups of 3: the oldest alone weighs r_g / 2 = 0.2, the newer three 1/6 each.
    const rows = [
      buildInteraction({ userId: 'me', productId: 'staple', type: 'purchase', count: 4, purchaseDays: [day - 3, day - 2, day - 1, day] }),
      buildInteraction({ userId: 'me', productId: 'treat', type: 'purchase', count: 1, purchaseDays: [day - 3] }),
    ];
    // Without similar items and other customers, only the user's own vector counts.
    const list = computeBatchModel(rows, AS_OF, { ...policy, neighbourWeight: 0, customerNeighbours: 0, rebuyRateWeight: 0 }).perUser.get(
      'me',
    );
    expect(list?.map((item) => item.productId)).toEqual(['staple', 'treat']);
    expect(list?.[0]?.score).toBe(1);
    expect(list?.[1]?.score).toBeCloseTo(0.2 / 0.7, 12);
  });

  it('a product of the newest group of baskets outweighs one bought as often in the group before by r_g', () => {
    const day = utcDay(AS_OF);
    const rows = [
      buildInteraction({ userId: 'me', productId: 'old', type: 'purchase', purchaseDays: [day - 5] }),
      buildInteraction({ userId: 'me', productId: 'x', type: 'purchase', purchaseDays: [day - 4, day - 3, day - 2, day - 1] }),
      buildInteraction({ userId: 'me', productId: 'new', type: 'purchase', purchaseDays: [day] }),
    ];
    const list = computeBatchModel(rows, AS_OF, { ...policy, neighbourWeight: 0, customerNeighbours: 0 }).perUser.get('me')!;
    const scoreOf = (productId: string) => list.find((item) => item.productId === productId)!.score;
    expect(scoreOf('old') / scoreOf('new')).toBeCloseTo(policy.rebuyAcrossGroupDecay, 12);
  });

  it('a product only the customers most like the user bought joins their list, explained by the product they share', () => {
    const rows = [
      buildInteraction({ userId: 'me', productId: 'P', type: 'purchase' }),
      buildInteraction({ userId: 'o1', productId: 'P', type: 'purchase' }),
      buildInteraction({ userId: 'o1', productId: 'N', type: 'purchase', lastAt: AS_OF - 400 * DAY }),
      // A customer sharing nothing with me is no neighbour of mine, however close their vector.
      buildInteraction({ userId: 'stranger', productId: 'S', type: 'purchase' }),
    ];
    // Weights as the policy sets them (no run-trained blend): the arithmetic below is the policy's α.
    const list = computeBatchModel(rows, AS_OF, { ...policy, neighbourWeight: 0, blendHoldoutDays: 0 }).perUser.get('me');
    // o1's two baskets form one group (m 3, r_b 1): N and P weigh 1/2 each. Mine: P weighs 1.
    // P: α · 1 + (1 − α) · 1/2; N: (1 − α) · 1/2; scores are normalised to the strongest.
    expect(list?.map((item) => [item.productId, item.reasons])).toEqual([
      ['P', [BOUGHT_BEFORE_REASON]],
      ['N', ['batch:similar-to:P']],
    ]);
    const alpha = policy.ownRebuyWeight;
    expect(list?.[1]?.score).toBeCloseTo(((1 - alpha) * 0.5) / (alpha + (1 - alpha) * 0.5), 12);
  });

  it('a customer whose purchases have no neighbours still gets them back as re-buy candidates', () => {
    const model = computeBatchModel([buildInteraction({ userId: 'loner', productId: 'X', type: 'purchase', count: 2 })], AS_OF, policy);
    // X's one buyer bought it again: it gains its re-buy share, 1 / (1 + prior).
    const score = 1 + policy.rebuyRateWeight / (1 + policy.rebuyRatePrior);
    expect(model.perUser.get('loner')).toEqual([{ productId: 'X', score, category: null, reasons: [BOUGHT_BEFORE_REASON] }]);
  });

  it("a product the user bought gains its buyers' re-buy share: a staple rises above a one-off bought as often by the user", () => {
    const day = utcDay(AS_OF);
    const rows = [
      buildInteraction({ userId: 'me', productId: 'staple', type: 'purchase', purchaseDays: [day] }),
      buildInteraction({ userId: 'me', productId: 'one-off', type: 'purchase', purchaseDays: [day] }),
      // Three others bought the staple twice, three others the one-off once.
      ...['a', 'b', 'c'].map((u) =>
        buildInteraction({ userId: u, productId: 'staple', type: 'purchase', count: 2, purchaseDays: [day - 9, day] }),
      ),
      ...['d', 'e', 'f'].map((u) => buildInteraction({ userId: u, productId: 'one-off', type: 'purchase', purchaseDays: [day] })),
    ];
    const flat = { ...policy, neighbourWeight: 0, customerNeighbours: 0 };
    const scoreOf = (list: Array<{ productId: string; score: number }> | undefined, id: string) =>
      list?.find((i) => i.productId === id)?.score;
    const without = computeBatchModel(rows, AS_OF, { ...flat, rebuyRateWeight: 0 }).perUser.get('me');
    expect(scoreOf(without, 'staple')).toBe(scoreOf(without, 'one-off'));
    const list = computeBatchModel(rows, AS_OF, flat).perUser.get('me');
    expect(list?.map((item) => item.productId)).toEqual(['staple', 'one-off']);
    // 3 of the staple's 4 buyers came back: 3 / (4 + 5); nobody came back for the one-off.
    expect(scoreOf(list, 'staple')).toBeCloseTo(1 + 3 / 9, 12);
    expect(scoreOf(list, 'one-off')).toBe(1);
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
    // Without other customers' vectors: N comes only as a similar item.
    const scored = (neighbourWeight: number) =>
      computeBatchModel(rows, AS_OF, { ...policy, neighbourWeight, customerNeighbours: 0 })
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

  it("a neighbour of two of the customer's products ranks above a neighbour of one", () => {
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

describe('rankUser', () => {
  it('rankUser ranks as userRecommendations does, which only adds categories and reasons', () => {
    const random = seededRandom(8);
    const rows: Interaction[] = [];
    for (let user = 0; user < 200; user++) {
      for (let k = 1 + Math.floor(random() * 8); k > 0; k--) {
        const type = EVENT_TYPES[Math.floor(random() * EVENT_TYPES.length)]!;
        rows.push(
          buildInteraction({
            userId: `u${user}`,
            productId: `p${Math.floor(random() ** 2 * 40)}`,
            type,
            lastAt: AS_OF - Math.floor(random() * 300) * DAY,
          }),
        );
      }
    }
    const model = computeBatchModel(rows, AS_OF, { ...policy, topNPerUser: 10 });
    const index = new SimilarityIndex(model.similar);
    const categoryOf = new Map<string, string | null>();
    const histories = groupByUser(rows);
    const customers = customerIndex(histories, [...new Set(rows.map((row) => row.productId))].sort(), AS_OF, policy);
    for (const { userId, rows: history } of histories) {
      const context = { userId, customers, blendWeights: model.blend };
      const ranked = rankUser(userProfile(history, AS_OF, policy), index, { ...policy, topNPerUser: 10 }, context);
      const items = userRecommendations(userSignals(history, AS_OF, policy), index, categoryOf, { ...policy, topNPerUser: 10 }, context);
      expect(
        ranked.map((candidate) => ({
          productId: candidate.productId,
          score: candidate.score,
          category: null,
          reasons: reasonsOf(candidate),
        })),
      ).toEqual(items);
      expect(items).toEqual(model.perUser.get(userId) ?? []);
    }
  });
});
