import { describe, expect, it } from 'vitest';
import {
  buildSessionProfile,
  DEFAULT_SESSION_POLICY,
  isPurchaseSuppressing,
  isWithinSessionWindow,
  type SessionPolicy,
  type SessionSignal,
} from './session.js';

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
) => buildSessionProfile(signals, purchases, NOW, policy, categoryOf);

describe('buildSessionProfile', () => {
  it('when there are no signals and no purchases, the profile is empty', () => {
    const profile = profileOf([]);
    expect(profile.categoryBoosts.size).toBe(0);
    expect(profile.recentProducts).toEqual([]);
    expect(profile.suppressed.size).toBe(0);
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
    const profile = profileOf(
      [buildSignal({ productId: 'p1', category: null })],
      new Map(),
      (productId) => catalog.get(productId) ?? null,
    );
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
    const profile = profileOf(
      [buildSignal({ productId: 'p1' }), buildSignal({ productId: 'p2' })],
      new Map([['p1', NOW - HOUR]]),
    );
    expect(profile.recentProducts).toEqual(['p2']);
    expect(profile.suppressed.has('p1')).toBe(true);
  });

  it('when a viewed product was purchased long ago, it is a recent product again', () => {
    const profile = profileOf([buildSignal({ productId: 'p1' })], new Map([['p1', NOW - 48 * HOUR]]));
    expect(profile.recentProducts).toEqual(['p1']);
    expect(profile.suppressed.size).toBe(0);
  });

  it('a purchase signal boosts its category but does not make the product a recent one', () => {
    const profile = profileOf([buildSignal({ productId: 'p1', category: 'shoes', type: 'purchase' })]);
    expect(profile.categoryBoosts.get('shoes')).toBe(1);
    expect(profile.recentProducts).toEqual([]);
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
