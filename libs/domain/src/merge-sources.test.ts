import { describe, expect, it } from 'vitest';
import { DEFAULT_MERGE_WEIGHTS, mergeRecommendations } from './merge.js';
import { decideRepurchase, type RepurchaseEvidence } from './repurchase.js';
import { buildSessionProfile, DEFAULT_SESSION_POLICY, EMPTY_SESSION_PROFILE, type SessionSignal } from './session.js';
import { buildCandidate, buildInput, buildSession, catalog, ids, itemOf } from '../test/merge-input.js';

describe('mergeRecommendations sources', () => {
  it('popular items fill in with the reason "popular" and rank below equally strong personal ones', () => {
    const input = buildInput({
      personal: [buildCandidate('personal', 7, { reasons: ['batch:similar-to:p9'] })],
      popular: [buildCandidate('hit', 1000, { reasons: ['something-internal'] })],
    });
    const items = mergeRecommendations(input);
    expect(items.map((item) => item.productId)).toEqual(['personal', 'hit']);
    expect(items[1]).toEqual({ productId: 'hit', score: DEFAULT_MERGE_WEIGHTS.popular, category: null, reasons: ['popular'] });
  });

  it('for a new shopper with a cart, what goes with the cart ranks above the best-sellers', () => {
    const input = buildInput({
      popular: [buildCandidate('hit1', 10), buildCandidate('hit2', 9)],
      similarToRecent: new Map([['mug', [buildCandidate('saucer', 0.9)]]]),
      session: buildSession({ recentProducts: ['mug'], productInterest: new Map([['mug', 4]]), inCart: new Set(['mug']) }),
    });
    expect(ids(input)).toEqual(['saucer', 'hit1', 'hit2']);
  });

  it('for an unknown user (no personal list) answers popular items, boosted by the session', () => {
    const input = buildInput({
      popular: [buildCandidate('a', 10, { category: 'bags' }), buildCandidate('b', 9, { category: 'shoes' })],
      session: buildSession({ categoryBoosts: new Map([['shoes', 1]]) }),
    });
    const w = DEFAULT_MERGE_WEIGHTS.popular;
    expect(mergeRecommendations(input)).toEqual([
      {
        productId: 'b',
        score: Math.round(w * 0.9 * 1.3 * 1e4) / 1e4,
        category: 'shoes',
        reasons: ['popular', 'session:category-boost:shoes'],
      },
      { productId: 'a', score: w, category: 'bags', reasons: ['popular'] },
    ]);
  });

  it('a session neighbour says which session product it is similar to and ranks below an equally strong personal pick', () => {
    const input = buildInput({
      personal: [buildCandidate('mine', 3)],
      similarToRecent: new Map([['viewed', [buildCandidate('alike', 0.4, { reasons: ['batch:similar-to:x'] })]]]),
    });
    expect(mergeRecommendations(input)).toEqual([
      { productId: 'mine', score: 1, category: null, reasons: ['batch:similar-to:seed-of-mine'] },
      { productId: 'alike', score: DEFAULT_MERGE_WEIGHTS.sessionSimilar, category: null, reasons: ['session:similar-to:viewed'] },
    ]);
  });

  it('when a product comes from several sources, it appears once with the scores added and all reasons, no duplicates', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 2, { reasons: ['batch:similar-to:a'] }), buildCandidate('top', 4)],
      similarToRecent: new Map([
        ['v1', [buildCandidate('p1', 1)]],
        ['v2', [buildCandidate('p1', 1)]],
      ]),
      popular: [buildCandidate('p1', 1), buildCandidate('p1', 1)],
    });
    const items = mergeRecommendations(input).filter((item) => item.productId === 'p1');
    expect(items).toHaveLength(1);
    // Half the best personal pick, plus the best session neighbour at its weight.
    expect(items[0]?.score).toBe(0.5 + DEFAULT_MERGE_WEIGHTS.sessionSimilar);
    // The session reason names one seed: on a tie, the first.
    expect(items[0]?.reasons).toEqual(['batch:similar-to:a', 'session:similar-to:v1', 'popular']);
  });

  it('sources add up: a personal pick the session also points to outranks a stronger personal pick it does not', () => {
    const input = buildInput({
      personal: [buildCandidate('stronger', 1), buildCandidate('also-in-session', 0.9)],
      similarToRecent: new Map([['viewed', [buildCandidate('also-in-session', 1)]]]),
    });
    expect(ids(input)).toEqual(['also-in-session', 'stronger']);
    expect(itemOf(input, 'also-in-session')?.score).toBe(0.9 + DEFAULT_MERGE_WEIGHTS.sessionSimilar);
  });

  it('popular only fills: a popular personal pick keeps its personal score, a weak one is lifted to its popular score', () => {
    const input = buildInput({
      // weak: below the popular weight, so its popular score lifts it.
      personal: [buildCandidate('strong', 1), buildCandidate('weak', DEFAULT_MERGE_WEIGHTS.popular / 4)],
      popular: [buildCandidate('strong', 10), buildCandidate('weak', 10)],
    });
    expect(mergeRecommendations(input)).toEqual([
      { productId: 'strong', score: 1, category: null, reasons: ['batch:similar-to:seed-of-strong', 'popular'] },
      {
        productId: 'weak',
        score: DEFAULT_MERGE_WEIGHTS.popular,
        category: null,
        reasons: ['batch:similar-to:seed-of-weak', 'popular'],
      },
    ]);
  });

  it('cold start still answers popular items: no personal list and an empty session give the popular list', () => {
    const input = buildInput({
      personal: [],
      session: EMPTY_SESSION_PROFILE,
      popular: [buildCandidate('first', 10), buildCandidate('second', 5), buildCandidate('third', 1)],
      limit: 2,
    });
    expect(mergeRecommendations(input)).toEqual([
      { productId: 'first', score: DEFAULT_MERGE_WEIGHTS.popular, category: null, reasons: ['popular'] },
      { productId: 'second', score: DEFAULT_MERGE_WEIGHTS.popular / 2, category: null, reasons: ['popular'] },
    ]);
  });

  it('a cart brings in co-bought products, and the carted product itself is not returned', () => {
    const NOW = Date.parse('2025-03-01T12:00:00Z');
    const signal = (overrides: Partial<SessionSignal>): SessionSignal => ({
      eventId: `${overrides.type}-${overrides.productId}`,
      userId: 'u1',
      type: 'view',
      productId: 'p1',
      category: null,
      at: NOW - 60_000,
      ...overrides,
    });
    const session = buildSessionProfile(
      [signal({ productId: 'mug', type: 'add_to_cart' }), signal({ productId: 'kettle', type: 'view' })],
      new Map(),
      NOW,
      DEFAULT_SESSION_POLICY,
    );
    expect(session.recentProducts).toEqual(['mug', 'kettle']);
    const input = buildInput({
      // The carted mug comes from every source: a personal pick, a popular item, a neighbour of the kettle.
      personal: [buildCandidate('mug', 5)],
      popular: [buildCandidate('mug', 9), buildCandidate('hit', 1)],
      similarToRecent: new Map([
        ['mug', [buildCandidate('saucer', 0.8), buildCandidate('teapot', 0.4)]],
        ['kettle', [buildCandidate('mug', 1)]],
      ]),
      session,
    });
    const items = mergeRecommendations(input);
    expect(items.map((item) => item.productId)).not.toContain('mug');
    expect(items.find((item) => item.productId === 'saucer')?.reasons).toEqual(['session:similar-to:mug']);
    expect(items.find((item) => item.productId === 'teapot')?.reasons).toEqual(['session:similar-to:mug']);
    expect(itemOf(input, 'saucer')!.score).toBeGreaterThan(itemOf(input, 'teapot')!.score);
  });

  it('co-bought with two session products ranks above co-bought with one, even when that one is more similar', () => {
    const input = buildInput({
      session: buildSession({
        recentProducts: ['mug', 'teapot'],
        productInterest: new Map([
          ['mug', 4],
          ['teapot', 4],
        ]),
      }),
      similarToRecent: new Map([
        ['mug', [buildCandidate('saucer', 0.5), buildCandidate('spoon', 0.6)]],
        ['teapot', [buildCandidate('saucer', 0.5)]],
      ]),
    });
    expect(ids(input)).toEqual(['saucer', 'spoon']);
  });

  it("a session neighbour counts by its seed's share of the session interest", () => {
    const input = buildInput({
      session: buildSession({
        recentProducts: ['strong', 'weak'],
        productInterest: new Map([
          ['strong', 4],
          ['weak', 1],
        ]),
      }),
      similarToRecent: new Map([
        ['strong', [buildCandidate('of-strong', 1)]],
        ['weak', [buildCandidate('of-weak', 1)]],
      ]),
    });
    expect(itemOf(input, 'of-weak')!.score).toBeCloseTo(itemOf(input, 'of-strong')!.score / 4, 4);
  });

  it('a session neighbour names the session product that contributed most to it', () => {
    const input = buildInput({
      session: buildSession({
        recentProducts: ['strong', 'weak'],
        productInterest: new Map([
          ['strong', 4],
          ['weak', 1],
        ]),
      }),
      // From strong: 1 × 0.2. From weak: ¼ × 0.6 = 0.15, though its similarity is higher.
      similarToRecent: new Map([
        ['weak', [buildCandidate('both', 0.6)]],
        ['strong', [buildCandidate('both', 0.2)]],
      ]),
    });
    expect(itemOf(input, 'both')?.reasons).toEqual(['session:similar-to:strong']);
  });

  it('a session product the profile does not weigh counts as a full one', () => {
    const input = buildInput({
      session: buildSession({ productInterest: new Map([['weighed', 2]]) }),
      similarToRecent: new Map([
        ['weighed', [buildCandidate('of-weighed', 1)]],
        ['unweighed', [buildCandidate('of-unweighed', 1)]],
      ]),
    });
    expect(itemOf(input, 'of-unweighed')?.score).toBe(itemOf(input, 'of-weighed')?.score);
  });

  it('a re-bought product is not suppressed: it stays in the answer with the bought-again-often reason', () => {
    const input = buildInput({
      personal: [buildCandidate('other', 1)],
      session: buildSession({ rebought: new Map([['tea', { keep: true, basis: 'product', rate: 0.6 }]]) }),
      catalog: catalog({ tea: { category: 'drinks' } }),
    });
    expect(itemOf(input, 'tea')).toEqual({
      productId: 'tea',
      score: DEFAULT_MERGE_WEIGHTS.rebought * 0.6,
      category: 'drinks',
      reasons: ['session:bought-again-often:product'],
    });
  });

  it("a re-bought product's re-buy share adds to what its other sources give it", () => {
    const input = buildInput({
      personal: [buildCandidate('top', 2), buildCandidate('tea', 1, { reasons: ['batch:bought-before'] })],
      session: buildSession({ rebought: new Map([['tea', { keep: true, basis: 'category', rate: 0.4 }]]) }),
    });
    expect(itemOf(input, 'tea')).toEqual({
      productId: 'tea',
      score: 0.5 + DEFAULT_MERGE_WEIGHTS.rebought * 0.4,
      category: null,
      reasons: ['batch:bought-before', 'session:bought-again-often:category'],
    });
  });

  it('from purchases to answer: a re-bought product stays, a rarely re-bought one and one with no history are suppressed', () => {
    const NOW = Date.parse('2025-03-01T12:00:00Z');
    const evidence: Record<string, RepurchaseEvidence> = {
      tea: { product: { buyers: 20, rebuyers: 12 } },
      sofa: { product: { buyers: 20, rebuyers: 0 } },
      // Too few buyers of its own; its category says customers come back.
      biscuits: { product: { buyers: 1, rebuyers: 0 }, category: { buyers: 40, rebuyers: 20 } },
    };
    const session = buildSessionProfile(
      [],
      new Map(['tea', 'sofa', 'fridge', 'biscuits'].map((productId) => [productId, NOW - 60 * 60_000])),
      NOW,
      DEFAULT_SESSION_POLICY,
      undefined,
      (productId) => decideRepurchase(evidence[productId] ?? {}, DEFAULT_SESSION_POLICY),
    );
    const input = buildInput({
      personal: ['tea', 'sofa', 'fridge', 'biscuits', 'other'].map((productId) => buildCandidate(productId, 1)),
      popular: [buildCandidate('sofa', 1), buildCandidate('fridge', 1)],
      session,
    });
    const items = mergeRecommendations(input);
    expect(items.map((item) => item.productId)).toEqual(['tea', 'biscuits', 'other']);
    expect(items.find((item) => item.productId === 'tea')?.reasons).toContain('session:bought-again-often:product');
    expect(items.find((item) => item.productId === 'biscuits')?.reasons).toContain('session:bought-again-often:category');
  });

  it('weights set how much each source adds', () => {
    const input = buildInput({
      personal: [buildCandidate('mine', 1)],
      similarToRecent: new Map([['viewed', [buildCandidate('alike', 1)]]]),
      popular: [buildCandidate('hit', 1)],
      session: buildSession({ rebought: new Map([['tea', { keep: true, basis: 'product', rate: 0.5 }]]) }),
    });
    expect(ids({ ...input, weights: { sessionSimilar: 2, rebought: 0.1, popular: 0.5 } })).toEqual(['alike', 'mine', 'hit', 'tea']);
    expect(ids({ ...input, weights: { sessionSimilar: 0.1, rebought: 4, popular: 1.5 } })).toEqual(['tea', 'hit', 'mine', 'alike']);
  });
});

describe('mergeRecommendations cold start by category', () => {
  const shopWide = [
    buildCandidate('tv', 10, { category: 'electronics' }),
    buildCandidate('phone', 8, { category: 'electronics' }),
    buildCandidate('boots', 1, { category: 'shoes' }),
  ];
  const byCategory = new Map([
    [
      'shoes',
      [
        buildCandidate('boots', 1, { category: 'shoes' }),
        buildCandidate('sandals', 0.9, { category: 'shoes' }),
        buildCandidate('slippers', 0.5, { category: 'shoes' }),
      ],
    ],
    ['electronics', [buildCandidate('tv', 10, { category: 'electronics' })]],
  ]);

  it("a new shopper asking for a category gets the category's best-sellers, not the few shop-wide ones in it", () => {
    const without = buildInput({ popular: shopWide, category: 'shoes' });
    expect(ids(without)).toEqual(['boots']);
    expect(ids({ ...without, popularByCategory: byCategory })).toEqual(['boots', 'sandals', 'slippers']);
    expect(itemOf({ ...without, popularByCategory: byCategory }, 'sandals')?.reasons).toEqual(['popular']);
  });

  it("a new shopper browsing a category sees its best-sellers rise among the shop's", () => {
    const session = buildSession({ categoryBoosts: new Map([['shoes', 1]]) });
    const input = buildInput({ popular: shopWide, session, popularByCategory: byCategory });
    expect(ids(input)).toEqual(['boots', 'sandals', 'tv', 'phone', 'slippers']);
    // Without the session, only the shop-wide list counts, and a category nobody browses stays out.
    expect(ids(buildInput({ popular: shopWide, popularByCategory: byCategory }))).toEqual(['tv', 'phone', 'boots']);
  });

  it("stays below the shopper's own candidates", () => {
    const session = buildSession({ categoryBoosts: new Map([['shoes', 1]]) });
    const input = buildInput({ personal: [buildCandidate('kettle', 1)], popular: shopWide, session, popularByCategory: byCategory });
    expect(ids(input)[0]).toBe('kettle');
  });
});
