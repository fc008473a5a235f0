import type { BatchPolicy } from './batch-policy.js';
import { strongestFirst } from './strongest-first.js';
import { rebuyVector, utcDay } from './rebuy-vector.js';
import type { Interaction } from './user-history.js';
import { decayFactor, eventWeight } from './weights.js';

/** What one user's history contributes to the model. */
export interface UserSignals {
  /** The user's strongest products by undecayed interest (at most `maxItemsPerUser`), log-damped: what co-occurrence counts. */
  cooccurrence: Array<readonly [productId: string, weight: number]>;
  /** Interest decayed by the profile half-life: the seeds of the user's neighbours. */
  profile: Map<string, number>;
  /** Purchases decayed by the profile half-life: what the user bought. */
  purchases: Map<string, number>;
  /** Time-decayed basket frequencies of what the user bought (`rebuyVector`): the re-buy scores. */
  rebuy: Map<string, number>;
  /** Days from the user's latest purchase of each product they bought to the run's `asOf`. */
  daysSinceBought: Map<string, number>;
}

export function userSignals(rows: Iterable<Interaction>, asOf: number, policy: BatchPolicy): UserSignals {
  const interest = new Map<string, number>();
  const { profile, purchases, rebuy, daysSinceBought } = addUpHistory(rows, asOf, policy, interest);
  const cooccurrence = strongestFirst(interest)
    .slice(0, policy.maxItemsPerUser)
    .map(([productId, weight]) => [productId, Math.log1p(weight)] as const);
  return { cooccurrence, profile, purchases, rebuy, daysSinceBought };
}

/** What ranking a user's list takes from their history. */
export type UserProfile = Pick<UserSignals, 'profile' | 'purchases' | 'rebuy' | 'daysSinceBought'>;

/**
 * `userSignals` without the co-occurrence list: the per-user stage ranks a user from their profile
 * and purchases only, so it need not sort and log-damp a list it would throw away.
 */
export function userProfile(rows: Iterable<Interaction>, asOf: number, policy: BatchPolicy): UserProfile {
  return addUpHistory(rows, asOf, policy);
}

function addUpHistory(rows: Iterable<Interaction>, asOf: number, policy: BatchPolicy, interest?: Map<string, number>): UserProfile {
  const list = Array.isArray(rows) ? (rows as readonly Interaction[]) : [...rows];
  const profile = new Map<string, number>();
  const purchases = new Map<string, number>();
  const daysSinceBought = new Map<string, number>();
  const today = utcDay(asOf);
  for (const row of list) {
    const weight = eventWeight(row.type) * row.count;
    const decay = decayFactor(asOf - row.lastAt, policy.profileHalfLifeMs);
    interest?.set(row.productId, (interest.get(row.productId) ?? 0) + weight);
    profile.set(row.productId, (profile.get(row.productId) ?? 0) + weight * decay);
    if (row.type === 'purchase') {
      purchases.set(row.productId, (purchases.get(row.productId) ?? 0) + row.count * decay);
      daysSinceBought.set(row.productId, today - (row.purchaseDays?.at(-1) ?? utcDay(row.lastAt)));
    }
  }
  return { profile, purchases, rebuy: rebuyVector(list, policy), daysSinceBought };
}
