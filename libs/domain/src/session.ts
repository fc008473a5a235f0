import type { EventType } from '@lambdarec/contracts';
import { byName } from './order.js';
import { DEFAULT_REPURCHASE_POLICY, SUPPRESS_EVERY_PURCHASE, type RepurchaseDecision, type RepurchasePolicy } from './repurchase.js';
import { DEFAULT_BOT_POLICY, type BotPolicy } from './bot-guard.js';
import { decayFactor, eventWeight } from './weights.js';

/** Tunables of the session (speed) layer. */
export interface SessionPolicy extends RepurchasePolicy, BotPolicy {
  /** Events older than this (event time) are ignored by the speed layer. @defaultValue 2 h */
  sessionWindowMs: number;
  /** Half-life of a category boost within the session. @defaultValue 30 min */
  boostHalfLifeMs: number;
  /** How long a purchased product stays out of the user's list. @defaultValue 24 h */
  purchaseSuppressionMs: number;
  /** A fully boosted category's items gain this fraction of their score. @defaultValue 0.3 */
  categoryBoost: number;
  /** How many recent signals a session keeps. @defaultValue 200 */
  maxSignals: number;
  /**
   * How many purchased products a session keeps (the latest): serving reads them all per request,
   * and a wholesaler's basket, or a bot, must not grow a key without bound. @defaultValue 200
   */
  maxPurchases: number;
}

export const DEFAULT_SESSION_POLICY: Readonly<SessionPolicy> = {
  sessionWindowMs: 2 * 60 * 60 * 1000,
  boostHalfLifeMs: 30 * 60 * 1000,
  purchaseSuppressionMs: 24 * 60 * 60 * 1000,
  categoryBoost: 0.3,
  maxSignals: 200,
  maxPurchases: 200,
  ...DEFAULT_REPURCHASE_POLICY,
  ...DEFAULT_BOT_POLICY,
};

/** One event as the speed layer keeps it: what serving needs to boost and suppress. */
export interface SessionSignal {
  eventId: string;
  userId: string;
  type: EventType;
  productId: string;
  category: string | null;
  /** Event time in epoch milliseconds. */
  at: number;
  /** Arrived inside a burst the bot guard flagged (ADR 013): it moves no boosts. */
  botBurst?: boolean;
}

/** The decayed interest that earns a category its full boost: one fresh view. */
const FULL_BOOST_WEIGHT = eventWeight('view');

/** Late events still reach the master dataset; the session only keeps what is inside its window. */
export const isWithinSessionWindow = (eventAt: number, now: number, policy: SessionPolicy): boolean =>
  now - eventAt <= policy.sessionWindowMs;

export const isPurchaseSuppressing = (purchasedAt: number, now: number, policy: SessionPolicy): boolean =>
  now - purchasedAt <= policy.purchaseSuppressionMs;

export interface SessionProfile {
  /**
   * category → boost in [0, 1]: decayed interest in the category, saturating at 1 (one fresh view
   * gives the full boost; after one half-life without another, half of it).
   */
  categoryBoosts: Map<string, number>;
  /**
   * Products of the session (viewed, clicked, carted or bought and not suppressed), strongest
   * first: their similar and co-bought items join the candidates.
   */
  recentProducts: string[];
  /** Decayed interest of each product in recentProducts: how much its neighbours count. */
  productInterest: Map<string, number>;
  /** Products purchased inside the suppression window that customers rarely buy again. */
  suppressed: Set<string>;
  /** Products purchased inside the suppression window that stay: customers often buy them again. */
  rebought: Map<string, Extract<RepurchaseDecision, { keep: true }>>;
  /** Products added to the cart in this session and not bought since: no need to recommend them. */
  inCart: Set<string>;
}

/** How many of the session's strongest products bring their similar items into the candidates. */
export const SESSION_SEED_PRODUCTS = 5;

export const EMPTY_SESSION_PROFILE: SessionProfile = {
  categoryBoosts: new Map(),
  recentProducts: [],
  productInterest: new Map(),
  suppressed: new Set(),
  rebought: new Map(),
  inCart: new Set(),
};

/**
 * Folds a session's signals into boosts and suppressions at time `now`. Signals without a category
 * take the catalog's, via `categoryOf`; duplicates by eventId count once (redelivery is harmless).
 * `repurchase` says whether a purchased product is one customers buy again (then it stays) or not
 * (then it is suppressed for the window); without it every purchase suppresses.
 */
export function buildSessionProfile(
  signals: readonly SessionSignal[],
  purchases: ReadonlyMap<string, number>,
  now: number,
  policy: SessionPolicy,
  categoryOf: (productId: string) => string | null = () => null,
  repurchase: (productId: string) => RepurchaseDecision = SUPPRESS_EVERY_PURCHASE,
): SessionProfile {
  const seen = new Set<string>();
  const categoryWeight = new Map<string, number>();
  const productWeight = new Map<string, number>();
  const lastCartedAt = new Map<string, number>();
  for (const signal of signals) {
    if (seen.has(signal.eventId)) continue;
    seen.add(signal.eventId);
    if (!isWithinSessionWindow(signal.at, now, policy)) continue;
    const weight = eventWeight(signal.type) * decayFactor(now - signal.at, policy.boostHalfLifeMs);
    const category = signal.category ?? categoryOf(signal.productId);
    if (category !== null) categoryWeight.set(category, (categoryWeight.get(category) ?? 0) + weight);
    productWeight.set(signal.productId, (productWeight.get(signal.productId) ?? 0) + weight);
    if (signal.type === 'add_to_cart') lastCartedAt.set(signal.productId, Math.max(lastCartedAt.get(signal.productId) ?? 0, signal.at));
  }
  const categoryBoosts = new Map<string, number>();
  for (const [category, weight] of categoryWeight) {
    const boost = Math.min(1, weight / FULL_BOOST_WEIGHT);
    if (boost > 0) categoryBoosts.set(category, boost);
  }
  const suppressed = new Set<string>();
  const rebought = new Map<string, Extract<RepurchaseDecision, { keep: true }>>();
  for (const [productId, at] of purchases) {
    if (!isPurchaseSuppressing(at, now, policy)) continue;
    const decision = repurchase(productId);
    if (decision.keep) rebought.set(productId, decision);
    else suppressed.add(productId);
  }
  const inCart = new Set<string>();
  for (const [productId, at] of lastCartedAt) {
    // A purchase after the cart event empties that line of the cart.
    if (!((purchases.get(productId) ?? -Infinity) >= at)) inCart.add(productId);
  }
  const strongest = [...productWeight.entries()]
    .filter(([productId]) => !suppressed.has(productId))
    .sort((a, b) => b[1] - a[1] || byName(a[0], b[0]));
  return {
    categoryBoosts,
    recentProducts: strongest.map(([productId]) => productId),
    productInterest: new Map(strongest),
    suppressed,
    rebought,
    inCart,
  };
}
