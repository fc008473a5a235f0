import type { BatchPolicy } from './batch-policy.js';
import type { BlendWeights } from './blend-training.js';
import type { CustomerNeighbourIndex } from './customer-neighbours.js';
import { BOUGHT_BEFORE_REASON, DUE_AGAIN_REASON, SIMILAR_TO_REASON, type ScoredItem } from './scored-item.js';
import { isDue } from './due-again.js';
import { PersonalScores, toPersonalScores } from './personal-scores.js';
import type { RankedCandidate, SimilarityIndex } from './similarity-index.js';
import { strongestFirst } from './strongest-first.js';
import type { UserProfile } from './user-signals.js';

/** The personal scores of the user being ranked: filled, read and done with inside one `rankUser` call. */
const RANKING_SCRATCH = new PersonalScores();

/** Who the user is among the run's customers: their id, the index of everyone's re-buy vectors, and what customers re-buy. */
export interface CustomerContext {
  userId: string;
  customers: CustomerNeighbourIndex;
  /** product → smoothed share of its buyers who bought it again (`rebuyRates`). */
  rebuyRates?: ReadonlyMap<string, number>;
  /** product → the usual wait in days before customers buy it again (`ProductFacts.rebuyIntervalDays`). */
  rebuyIntervals?: ReadonlyMap<string, number>;
  /** The weights the run trained on its own held-out weeks (`BlendTrainer`), over the policy's. */
  blendWeights?: Pick<BlendWeights, 'ownRebuyWeight' | 'rebuyRateWeight'> | undefined;
}

/** The products whose usual wait before a re-buy was learned, with it. */
export function rebuyIntervals(facts: Iterable<{ productId: string; rebuyIntervalDays: number | null }>): Map<string, number> {
  const intervals = new Map<string, number>();
  for (const { productId, rebuyIntervalDays } of facts) if (rebuyIntervalDays !== null) intervals.set(productId, rebuyIntervalDays);
  return intervals;
}

/**
 * One user's recommendations: personal candidates (their re-buy vector blended with their
 * nearest customers', normalised to the strongest) plus `neighbourWeight` × similar items
 * (similarities weighted by the profile, normalised to the strongest), best first, `topNPerUser`
 * of them. A product can be both; its reasons then say both (`reasonsOf`).
 */
export function userRecommendations(
  profile: UserProfile,
  similar: SimilarityIndex,
  categoryOf: ReadonlyMap<string, string | null>,
  policy: BatchPolicy,
  customer?: CustomerContext,
): ScoredItem[] {
  return rankUser(profile, similar, policy, customer).map((candidate) => ({
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
export function rankUser(
  { profile, purchases, rebuy, daysSinceBought }: UserProfile,
  similar: SimilarityIndex,
  policy: BatchPolicy,
  customer?: CustomerContext,
): RankedCandidate[] {
  // Without the other customers (a caller ranking one user alone), the user's own vector is all.
  const trained = customer?.blendWeights;
  let personal: PersonalScores;
  let sharedMost: string | undefined;
  if (customer === undefined) personal = PersonalScores.of(rebuy);
  else {
    personal = RANKING_SCRATCH;
    sharedMost = customer.customers.blendInto(customer.userId, rebuy, trained?.ownRebuyWeight ?? policy.ownRebuyWeight, personal);
  }
  // A product bought before is due again once its usual wait has passed, and not yet before that.
  const due = new Set<string>();
  const notDue = new Set<string>();
  for (const [productId, days] of daysSinceBought) {
    const verdict = isDue(days, customer?.rebuyIntervals?.get(productId));
    if (verdict === true) due.add(productId);
    else if (verdict === false) notDue.add(productId);
  }
  toPersonalScores(personal, purchases, customer?.rebuyRates, trained?.rebuyRateWeight ?? policy.rebuyRateWeight);
  if (policy.notDueWeight !== 1)
    for (let i = 0; i < personal.count; i++)
      if (notDue.has(personal.ids[i]!)) personal.scores[i] = personal.scores[i]! * policy.notDueWeight;
  const seeds = strongestFirst(profile);
  if (seeds.length > policy.maxItemsPerUser) seeds.length = policy.maxItemsPerUser;
  const ranked = similar.topCandidates(seeds, personal, policy.neighbourWeight, policy.topNPerUser, {
    bought: purchases,
    because: sharedMost,
  });
  for (const candidate of ranked) if (candidate.bought && due.has(candidate.productId)) candidate.due = true;
  return ranked;
}

/** Why a ranked candidate is in a user's list: bought before (and due again), similar to its strongest seed, or both. */
export function reasonsOf({ bought, because, due }: Pick<RankedCandidate, 'bought' | 'because' | 'due'>): string[] {
  const reasons = bought ? [due === true ? DUE_AGAIN_REASON : BOUGHT_BEFORE_REASON] : [];
  if (because !== undefined) reasons.push(`${SIMILAR_TO_REASON}${because}`);
  return reasons;
}
