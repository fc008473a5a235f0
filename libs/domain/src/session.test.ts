import { describe, expect, it } from 'vitest';
import { decideRepurchase, type RepurchaseDecision, type RepurchaseEvidence } from './repurchase.js';
import {
  buildSessionProfile,
  DEFAULT_SESSION_POLICY,
  isPurchaseSuppressing,
  isWithinSessionWindow,
  type SessionPolicy,
  type SessionSignal,
} from './session.js';
import { eventWeight } from './weights.js';

const NOW = Date.parse('2025-03-01T12:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const policy: SessionPolicy = { ...DEFAULT_SESSION_POLICY };

let sequence = 0;
const buildSignal = (overrides: Partial<SessionSignal> = {}): SessionSignal => ({
  eventId: `e${++sequence}`,
  userId: 'u1',
  type: 'view',
  productId: 'p1',
  category: 'shoes',
  at: NOW,
  ...overrides,
});

const profileOf = (
  signals: SessionSignal[],
  purchases: ReadonlyMap<string, number> = new Map(),
  categoryOf?: (productId: string) => string | null,
  repurchase?: (productId: string) => RepurchaseDecision,
) => buildSessionProfile(signals, purchases, NOW, policy, categoryOf, repurchase);

const KEEP: RepurchaseDecision = { keep: true, basis: 'product', rate: 0.6 };
const SUPPRESS: RepurchaseDecision = { keep: false, basis: 'product', rate: 0.01 };
/** A repurchase rule from per-product decisions; products it does not name are suppressed. */
const decisions =
  (byProduct: Record<string, RepurchaseDecision>) =>
  (productId: string): RepurchaseDecision =>
    byProduct[productId] ?? { keep: false, basis: 'no-history', rate: 0 };

describe('buildSessionProfile', () => {
  it('when there are no signals and no purchases, the profile is empty', () => {
    const profile = profileOf([]);
    expect(profile.categoryBoosts.size).toBe(0);
    expect(profile.recentProducts).toEqual([]);
    expect(profile.productInterest.size).toBe(0);
    expect(profile.suppressed.size).toBe(0);
    expect(profile.rebought.size).toBe(0);
    expect(profile.inCart.size).toBe(0);
  });

  it('gives a fresh view its category the full boost and lets stronger signals saturate at 1', () => {
    const profile = profileOf([
      buildSignal({ productId: 'p1', category: 'shoes', type: 'add_to_cart', at: NOW - policy.boostHalfLifeMs }), // 4 × 0.5
      buildSignal({ productId: 'p2', category: 'bags', type: 'view' }), // 1
      buildSignal({ productId: 'p3', category: 'hats', type: 'view', at: NOW - policy.boostHalfLifeMs }), // 0.5
    ]);
    expect(profile.categoryBoosts.get('shoes')).toBe(1);
    expect(profile.categoryBoosts.get('bags')).toBe(1);
    expect(profile.categoryBoosts.get('hats')).toBeCloseTo(0.5, 10);
  });

  it('adds up the signals of one category', () => {
    const halfLifeAgo = NOW - policy.boostHalfLifeMs;
    const profile = profileOf([
      buildSignal({ productId: 'p1', category: 'shoes', at: halfLifeAgo }),
      buildSignal({ productId: 'p2', category: 'shoes', at: halfLifeAgo }),
      buildSignal({ productId: 'p3', category: 'bags', at: halfLifeAgo }),
    ]);
    expect(profile.categoryBoosts.get('shoes')).toBeCloseTo(1, 10);
    expect(profile.categoryBoosts.get('bags')).toBeCloseTo(0.5, 10);
  });

  it('decays by event time: a view one half-life old weighs half of a view happening now', () => {
    const profile = profileOf([
      buildSignal({ productId: 'p1', category: 'shoes', at: NOW }),
      buildSignal({ productId: 'p2', category: 'bags', at: NOW - policy.boostHalfLifeMs }),
    ]);
    expect(profile.categoryBoosts.get('shoes')).toBe(1);
    expect(profile.categoryBoosts.get('bags')).toBeCloseTo(0.5, 10);
  });

  it('lets a recent weak signal outrank an old strong one once decay has done its work', () => {
    // add_to_cart (4) three half-lives ago = 0.5, a view now = 1.
    const profile = profileOf([
      buildSignal({ productId: 'p1', category: 'shoes', type: 'add_to_cart', at: NOW - 3 * policy.boostHalfLifeMs }),
      buildSignal({ productId: 'p2', category: 'bags', type: 'view', at: NOW }),
    ]);
    expect(profile.categoryBoosts.get('bags')).toBe(1);
    expect(profile.categoryBoosts.get('shoes')).toBeCloseTo(0.5, 10);
    expect(profile.recentProducts).toEqual(['p2', 'p1']);
  });

  it('ignores signals older than the session window', () => {
    const profile = profileOf([
      buildSignal({ productId: 'p1', category: 'shoes', at: NOW }),
      buildSignal({ productId: 'p2', category: 'bags', type: 'purchase', at: NOW - policy.sessionWindowMs - 1 }),
      buildSignal({ productId: 'p3', category: 'toys', at: NOW - policy.sessionWindowMs - 1 }),
    ]);
    expect([...profile.categoryBoosts.keys()]).toEqual(['shoes']);
    expect(profile.recentProducts).toEqual(['p1']);
  });

  it('keeps a signal exactly at the edge of the session window', () => {
    const profile = profileOf([buildSignal({ productId: 'p1', category: 'shoes', at: NOW - policy.sessionWindowMs })]);
    // Two hours are four half-lives: the boost is nearly spent, but the signal still counts.
    expect(profile.categoryBoosts.get('shoes')).toBeCloseTo(1 / 16, 10);
    expect(profile.recentProducts).toEqual(['p1']);
  });

  it('when an event is redelivered with the same eventId, it counts once', () => {
    const shoes = buildSignal({ eventId: 'dup', productId: 'p1', category: 'shoes', at: NOW - policy.boostHalfLifeMs });
    const profile = profileOf([shoes, buildSignal({ productId: 'p2', category: 'bags' }), shoes, { ...shoes }]);
    // Counted three times, shoes would saturate at 1 instead of half a boost.
    expect(profile.categoryBoosts.get('shoes')).toBeCloseTo(0.5, 10);
    expect(profile.categoryBoosts.get('bags')).toBe(1);
  });

  it('when a redelivered event carries the same eventId, the first delivery wins', () => {
    const profile = profileOf([
      buildSignal({ eventId: 'dup', productId: 'p1', category: 'shoes', type: 'view', at: NOW - 2 * policy.boostHalfLifeMs }),
      buildSignal({ eventId: 'dup', productId: 'p1', category: 'shoes', type: 'purchase', at: NOW - 2 * policy.boostHalfLifeMs }),
    ]);
    // The view counts (1 × 0.25); the purchase would have saturated the boost (8 × 0.25).
    expect(profile.categoryBoosts.get('shoes')).toBeCloseTo(0.25, 10);
  });

  it('takes the category from categoryOf for signals that carry none', () => {
    const catalog = new Map([['p1', 'shoes']]);
    const profile = profileOf([buildSignal({ productId: 'p1', category: null })], new Map(), (productId) => catalog.get(productId) ?? null);
    expect([...profile.categoryBoosts.entries()]).toEqual([['shoes', 1]]);
  });

  it("prefers the signal's own category over categoryOf", () => {
    const profile = profileOf([buildSignal({ productId: 'p1', category: 'bags' })], new Map(), () => 'shoes');
    expect([...profile.categoryBoosts.keys()]).toEqual(['bags']);
  });

  it('when neither the signal nor categoryOf knows a category, no boost is made but the product is still recent', () => {
    const profile = profileOf([buildSignal({ productId: 'p1', category: null })]);
    expect(profile.categoryBoosts.size).toBe(0);
    expect(profile.recentProducts).toEqual(['p1']);
  });

  it('suppresses a purchase inside the suppression window and not one outside it', () => {
    const profile = profileOf(
      [],
      new Map([
        ['recent', NOW - 23 * HOUR],
        ['edge', NOW - policy.purchaseSuppressionMs],
        ['old', NOW - 25 * HOUR],
      ]),
    );
    expect([...profile.suppressed].sort()).toEqual(['edge', 'recent']);
  });

  it('when a viewed product has been purchased recently, it is not among the recent products', () => {
    const profile = profileOf([buildSignal({ productId: 'p1' }), buildSignal({ productId: 'p2' })], new Map([['p1', NOW - HOUR]]));
    expect(profile.recentProducts).toEqual(['p2']);
    expect(profile.suppressed.has('p1')).toBe(true);
  });

  it('when a viewed product was purchased long ago, it is a recent product again', () => {
    const profile = profileOf([buildSignal({ productId: 'p1' })], new Map([['p1', NOW - 48 * HOUR]]));
    expect(profile.recentProducts).toEqual(['p1']);
    expect(profile.suppressed.size).toBe(0);
  });

  it('a suppressed purchase boosts its category but is not a recent product', () => {
    const profile = profileOf([buildSignal({ productId: 'p1', category: 'shoes', type: 'purchase' })], new Map([['p1', NOW]]));
    expect(profile.categoryBoosts.get('shoes')).toBe(1);
    expect(profile.recentProducts).toEqual([]);
    expect(profile.productInterest.has('p1')).toBe(false);
  });

  it('every kind of signal makes its product a recent one, weighted by event weight and decay', () => {
    const boughtAt = NOW - 2 * policy.boostHalfLifeMs;
    const profile = profileOf(
      [
        buildSignal({ productId: 'viewed', type: 'view' }),
        buildSignal({ productId: 'clicked', type: 'click', at: NOW - policy.boostHalfLifeMs }),
        buildSignal({ productId: 'carted', type: 'add_to_cart' }),
        buildSignal({ productId: 'bought', type: 'purchase', at: boughtAt }),
      ],
      new Map([['bought', boughtAt]]),
      undefined,
      decisions({ bought: KEEP }),
    );
    expect(profile.recentProducts).toEqual(['carted', 'bought', 'clicked', 'viewed']);
    expect(profile.productInterest).toEqual(
      new Map([
        ['carted', eventWeight('add_to_cart')],
        ['bought', eventWeight('purchase') / 4],
        ['clicked', eventWeight('click') / 2],
        ['viewed', eventWeight('view')],
      ]),
    );
  });

  it("adds up a product's signals in its interest", () => {
    const profile = profileOf([
      buildSignal({ productId: 'p1', type: 'view' }),
      buildSignal({ productId: 'p1', type: 'add_to_cart' }),
      buildSignal({ productId: 'p1', type: 'view', at: NOW - policy.boostHalfLifeMs }),
    ]);
    expect(profile.productInterest.get('p1')).toBeCloseTo(eventWeight('view') * 1.5 + eventWeight('add_to_cart'), 10);
  });

  it('without a repurchase rule, every purchase inside the window is suppressed and none is kept', () => {
    const profile = profileOf(
      [],
      new Map([
        ['tea', NOW - HOUR],
        ['sofa', NOW - HOUR],
      ]),
    );
    expect([...profile.suppressed].sort()).toEqual(['sofa', 'tea']);
    expect(profile.rebought.size).toBe(0);
  });

  it('a re-bought product is not suppressed: it is kept with its decision and stays a recent product', () => {
    const profile = profileOf(
      [buildSignal({ productId: 'tea', type: 'purchase', at: NOW - MINUTE })],
      new Map([['tea', NOW - MINUTE]]),
      undefined,
      decisions({ tea: KEEP }),
    );
    expect(profile.suppressed.has('tea')).toBe(false);
    expect(profile.rebought).toEqual(new Map([['tea', KEEP]]));
    expect(profile.recentProducts).toEqual(['tea']);
  });

  it('a rarely re-bought product is suppressed', () => {
    const profile = profileOf(
      [buildSignal({ productId: 'sofa', type: 'purchase', at: NOW - MINUTE })],
      new Map([['sofa', NOW - MINUTE]]),
      undefined,
      decisions({ sofa: SUPPRESS }),
    );
    expect([...profile.suppressed]).toEqual(['sofa']);
    expect(profile.rebought.size).toBe(0);
    expect(profile.recentProducts).toEqual([]);
  });

  it('decides each purchase on its own: a re-bought product stays while a rarely re-bought one is suppressed', () => {
    const evidence: Record<string, RepurchaseEvidence> = {
      tea: { product: { buyers: 20, rebuyers: 12 } },
      sofa: { product: { buyers: 20, rebuyers: 0 } },
      unknown: {},
    };
    const profile = profileOf(
      [],
      new Map([
        ['tea', NOW - HOUR],
        ['sofa', NOW - HOUR],
        ['unknown', NOW - HOUR],
      ]),
      undefined,
      (productId) => decideRepurchase(evidence[productId] ?? {}, policy),
    );
    expect(profile.rebought).toEqual(new Map([['tea', { keep: true, basis: 'product', rate: 0.6 }]]));
    // A product with no re-buying history is still suppressed.
    expect([...profile.suppressed].sort()).toEqual(['sofa', 'unknown']);
  });

  it('asks about purchases inside the suppression window only; older ones neither stay nor leave', () => {
    const asked: string[] = [];
    const purchases = new Map([
      ['recent', NOW - HOUR],
      ['old', NOW - policy.purchaseSuppressionMs - 1],
    ]);
    const profile = profileOf([], purchases, undefined, (productId) => {
      asked.push(productId);
      return KEEP;
    });
    expect(asked).toEqual(['recent']);
    expect([...profile.rebought.keys()]).toEqual(['recent']);
    expect(profile.suppressed.size).toBe(0);
  });

  it('a product added to the cart in the session and not bought since is in the cart', () => {
    const profile = profileOf([
      buildSignal({ productId: 'carted', type: 'add_to_cart', at: NOW - 10 * MINUTE }),
      buildSignal({ productId: 'viewed', type: 'view' }),
      buildSignal({ productId: 'clicked', type: 'click' }),
    ]);
    expect([...profile.inCart]).toEqual(['carted']);
    // A carted product is still a seed: what is bought with it joins the candidates.
    expect(profile.recentProducts[0]).toBe('carted');
  });

  it('a purchase at or after the cart event takes the product out of the cart', () => {
    const profile = profileOf(
      [
        buildSignal({ productId: 'bought-later', type: 'add_to_cart', at: NOW - 10 * MINUTE }),
        buildSignal({ productId: 'bought-then', type: 'add_to_cart', at: NOW - 10 * MINUTE }),
      ],
      new Map([
        ['bought-later', NOW - 5 * MINUTE],
        ['bought-then', NOW - 10 * MINUTE],
      ]),
      undefined,
      decisions({ 'bought-later': KEEP, 'bought-then': KEEP }),
    );
    expect(profile.inCart.size).toBe(0);
  });

  it('a purchase before the latest cart event leaves the product in the cart', () => {
    const profile = profileOf(
      [
        buildSignal({ productId: 'tea', type: 'add_to_cart', at: NOW - 30 * MINUTE }),
        buildSignal({ productId: 'tea', type: 'add_to_cart', at: NOW - 5 * MINUTE }),
      ],
      new Map([['tea', NOW - 20 * MINUTE]]),
      undefined,
      decisions({ tea: KEEP }),
    );
    expect([...profile.inCart]).toEqual(['tea']);
  });

  it('a cart event older than the session window does not put the product in the cart', () => {
    const profile = profileOf([buildSignal({ productId: 'p1', type: 'add_to_cart', at: NOW - policy.sessionWindowMs - 1 })]);
    expect(profile.inCart.size).toBe(0);
  });

  it('orders recent products strongest first, by event weight and decay', () => {
    const profile = profileOf([
      buildSignal({ productId: 'viewed', type: 'view' }),
      buildSignal({ productId: 'carted', type: 'add_to_cart' }),
      buildSignal({ productId: 'clicked', type: 'click' }),
      buildSignal({ productId: 'old-cart', type: 'add_to_cart', at: NOW - 2 * policy.boostHalfLifeMs }), // 1.0
      buildSignal({ productId: 'twice', type: 'view', at: NOW - MINUTE }),
      buildSignal({ productId: 'twice', type: 'click', at: NOW - MINUTE }),
    ]);
    expect(profile.recentProducts).toEqual(['carted', 'twice', 'clicked', 'old-cart', 'viewed']);
  });

  it('breaks ties between equally strong recent products by productId', () => {
    const profile = profileOf([buildSignal({ productId: 'b' }), buildSignal({ productId: 'c' }), buildSignal({ productId: 'a' })]);
    expect(profile.recentProducts).toEqual(['a', 'b', 'c']);
  });

  it('treats a signal from the future (client clock skew) as fresh, not stronger', () => {
    const profile = profileOf([
      buildSignal({ productId: 'p1', category: 'shoes', at: NOW + 10 * MINUTE }),
      buildSignal({ productId: 'p2', category: 'bags', at: NOW }),
    ]);
    expect(profile.categoryBoosts.get('shoes')).toBe(1);
    expect(profile.categoryBoosts.get('bags')).toBe(1);
  });
});

describe('isWithinSessionWindow', () => {
  it('is true for an event exactly one window old and false one millisecond later', () => {
    expect(isWithinSessionWindow(NOW - policy.sessionWindowMs, NOW, policy)).toBe(true);
    expect(isWithinSessionWindow(NOW - policy.sessionWindowMs - 1, NOW, policy)).toBe(false);
  });

  it('is true for an event happening now and for one from the future', () => {
    expect(isWithinSessionWindow(NOW, NOW, policy)).toBe(true);
    expect(isWithinSessionWindow(NOW + HOUR, NOW, policy)).toBe(true);
  });

  it('follows the policy window, not a fixed one', () => {
    const short = { ...policy, sessionWindowMs: 10 * MINUTE };
    expect(isWithinSessionWindow(NOW - 11 * MINUTE, NOW, short)).toBe(false);
    expect(isWithinSessionWindow(NOW - 11 * MINUTE, NOW, policy)).toBe(true);
  });
});

describe('isPurchaseSuppressing', () => {
  it('suppresses exactly up to the end of the suppression window', () => {
    expect(isPurchaseSuppressing(NOW - policy.purchaseSuppressionMs, NOW, policy)).toBe(true);
    expect(isPurchaseSuppressing(NOW - policy.purchaseSuppressionMs - 1, NOW, policy)).toBe(false);
  });

  it('suppresses a purchase made just now', () => {
    expect(isPurchaseSuppressing(NOW, NOW, policy)).toBe(true);
  });

  it('follows the configured suppression window', () => {
    const oneHour = { ...policy, purchaseSuppressionMs: HOUR };
    expect(isPurchaseSuppressing(NOW - 2 * HOUR, NOW, oneHour)).toBe(false);
    expect(isPurchaseSuppressing(NOW - 2 * HOUR, NOW, policy)).toBe(true);
  });
});
