import type { BatchPolicy } from './batch-policy.js';
import { BOUGHT_BEFORE_REASON, SIMILAR_TO_REASON, type ScoredItem } from './scored-item.js';
import type { RankedCandidate, SimilarityIndex } from './similarity-index.js';
import { strongestFirst } from './strongest-first.js';
import type { UserProfile } from './user-signals.js';

/**
 * One user's recommendations: re-buy candidates (their decayed purchases, normalised to the
 * strongest) plus `neighbourWeight` × neighbour candidates (similarities weighted by the profile,
 * normalised to the strongest), best first, `topNPerUser` of them. A product can be both; its
 * reasons then say both (`reasonsOf`).
 */
export function userRecommendations(
  profile: UserProfile,
  similar: SimilarityIndex,
  categoryOf: ReadonlyMap<string, string | null>,
  policy: BatchPolicy,
): ScoredItem[] {
  return rankUser(profile, similar, policy).map((candidate) => ({
    productId: candidate.productId,
    score: candidate.score,
    category: categoryOf.get(candidate.productId) ?? null,
    reasons: reasonsOf(candidate),
  }));
}

/**
 * `userRecommendations` before categories and reasons are spelled out: the same products, scores
 * and order. The batch service writes these as they are, since making the reason strings only for
 * the writer to abbreviate them again was a third of its time per user.
 */
export function rankUser({ profile, purchases }: UserProfile, similar: SimilarityIndex, policy: BatchPolicy): RankedCandidate[] {
  const purchased = new Map<string, number>();
  let topPurchase = 0;
  // Math.max, not a comparison: a NaN amount makes the top NaN, and then nothing is a re-buy.
  for (const amount of purchases.values()) topPurchase = Math.max(topPurchase, amount);
  if (topPurchase > 0) for (const [productId, amount] of purchases) purchased.set(productId, amount / topPurchase);
  const seeds = strongestFirst(profile);
  if (seeds.length > policy.maxItemsPerUser) seeds.length = policy.maxItemsPerUser;
  return similar.topCandidates(seeds, purchased, policy.neighbourWeight, policy.topNPerUser);
}

/** Why a ranked candidate is in a user's list: bought before, similar to its strongest seed, or both. */
export function reasonsOf({ bought, because }: Pick<RankedCandidate, 'bought' | 'because'>): string[] {
  const reasons = bought ? [BOUGHT_BEFORE_REASON] : [];
  if (because !== undefined) reasons.push(`${SIMILAR_TO_REASON}${because}`);
  return reasons;
}
