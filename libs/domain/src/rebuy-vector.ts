import type { Interaction } from './user-history.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The UTC day (days since 1970-01-01) of an epoch-ms time: the unit a basket is cut in. */
export const utcDay = (epochMs: number): number => Math.floor(epochMs / DAY_MS);

/** How a user's baskets add up to their re-buy vector (the m, r_b and r_g of TIFU-KNN). */
export interface RebuyVectorPolicy {
  /** Baskets per group, the newest group full. @defaultValue 3 */
  rebuyGroupSize: number;
  /** Weight of a basket against the next one inside its group. @defaultValue 1 */
  rebuyWithinGroupDecay: number;
  /** Weight of a group against the next one. @defaultValue 0.4 */
  rebuyAcrossGroupDecay: number;
}

/**
 * A user's time-decayed item frequencies (the user vector of Hu et al., "Modeling Personalized
 * Item Frequency Information for Next-basket Recommendation", SIGIR 2020), with a basket being
 * one day's purchases: the batch reads daily aggregates, and a shop's checkout of one day is
 * what a customer came for.
 *
 * The n baskets, oldest first, are cut into G = ⌈n/m⌉ groups, the oldest holding the remainder.
 * A basket i of a group g weighs r_b^(|g|−i) / |g| inside it, and the group weighs
 * r_g^(G−g) / G: recent baskets count most, and what a customer buys in most of their baskets
 * sums highest. The vector's entries are the products' sums.
 */
export function rebuyVector(rows: Iterable<Interaction>, policy: RebuyVectorPolicy): Map<string, number> {
  const daysOf = new Map<string, readonly number[]>();
  const allDays = new Set<number>();
  for (const row of rows) {
    if (row.type !== 'purchase') continue;
    const days = row.purchaseDays !== undefined && row.purchaseDays.length > 0 ? row.purchaseDays : [utcDay(row.lastAt)];
    daysOf.set(row.productId, days);
    for (const day of days) allDays.add(day);
  }
  const vector = new Map<string, number>();
  if (allDays.size === 0) return vector;
  const weightOfDay = basketWeights(
    [...allDays].sort((a, b) => a - b),
    policy,
  );
  for (const [productId, days] of daysOf) {
    let sum = 0;
    for (const day of new Set(days)) sum += weightOfDay.get(day)!;
    vector.set(productId, sum);
  }
  return vector;
}

/** Each basket's weight in the vector, for baskets (days) in ascending order. */
function basketWeights(days: readonly number[], { rebuyGroupSize, rebuyWithinGroupDecay, rebuyAcrossGroupDecay }: RebuyVectorPolicy) {
  const n = days.length;
  const groupSize = Math.max(1, Math.trunc(rebuyGroupSize));
  const groups = Math.ceil(n / groupSize);
  const oldestGroupSize = n - (groups - 1) * groupSize;
  const weights = new Map<number, number>();
  let basket = 0;
  for (let group = 1; group <= groups; group++) {
    const size = group === 1 ? oldestGroupSize : groupSize;
    const groupWeight = rebuyAcrossGroupDecay ** (groups - group) / groups;
    for (let i = 1; i <= size; i++) weights.set(days[basket++]!, (groupWeight * rebuyWithinGroupDecay ** (size - i)) / size);
  }
  return weights;
}
