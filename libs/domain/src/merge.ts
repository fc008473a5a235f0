import type { RecommendedItem } from '@lambdarec/contracts';
import { byName } from './order.js';
import { reboughtReason } from './repurchase.js';
import type { SessionPolicy, SessionProfile } from './session.js';

/** A candidate from the batch view: a per-user pick, a similar item, or a popular one. */
export interface Candidate {
  productId: string;
  score: number;
  category: string | null;
  reasons: string[];
}

export interface CatalogFacts {
  category: string | null;
  inStock: boolean;
}

export interface MergeInput {
  /** The user's batch top-N (scores on any positive scale). */
  personal: readonly Candidate[];
  /** Items similar to (co-bought, co-viewed with) products in the session, per session product. */
  similarToRecent: ReadonlyMap<string, readonly Candidate[]>;
  /** Popularity list of the published run: the fallback for unknown users and short lists. */
  popular: readonly Candidate[];
  /**
   * category → its popularity list: the fallback for the category asked for and for the session's
   * boosted categories, so a cold start in a category finds more than the few shop-wide
   * best-sellers that happen to be in it.
   */
  popularByCategory?: ReadonlyMap<string, readonly Candidate[]>;
  session: SessionProfile;
  /** Catalog facts for candidate products; unknown products are in stock with their event category. */
  catalog: ReadonlyMap<string, CatalogFacts>;
  limit: number;
  category?: string | undefined;
  exclude?: readonly string[];
  policy: Pick<SessionPolicy, 'categoryBoost'>;
  /** @defaultValue DEFAULT_MERGE_WEIGHTS */
  weights?: MergeWeights;
}

/** How the candidate sources add up; each source is normalised to its best candidate first. */
export interface MergeWeights {
  /**
   * Items similar to the session's products, summed over them by their session interest: a cart
   * of three mugs brings what is bought with all three above what goes with one. @defaultValue 0.4
   */
  sessionSimilar: number;
  /** A just-bought product customers often buy again gains this × its re-buy share. @defaultValue 0.5 */
  rebought: number;
  /**
   * Popular items only fill the list: under the user's own candidates and under what the session
   * brings (a new shopper's cart shows what goes with it before the best-sellers). @defaultValue 0.3
   */
  popular: number;
}

/** Tuned on the eval's validation window (`npm run eval -- --tune`); see docs/decisions/006. */
export const DEFAULT_MERGE_WEIGHTS: Readonly<MergeWeights> = { sessionSimilar: 0.4, rebought: 0.5, popular: 0.3 };

const round = (value: number): number => Math.round(value * 1e4) / 1e4;

function normalised(candidates: readonly Candidate[]): Candidate[] {
  const top = Math.max(0, ...candidates.map((c) => c.score));
  if (top <= 0) return candidates.map((c) => ({ ...c, score: 0 }));
  return candidates.map((c) => ({ ...c, score: c.score / top }));
}

/**
 * The session's products as one more profile: each similar item scores the sum of its similarity
 * to each session product times that product's share of the session's interest, named after the
 * product that contributed most.
 */
function sessionNeighbours(input: MergeInput): Candidate[] {
  const interest = input.session.productInterest;
  const topInterest = Math.max(0, ...[...input.similarToRecent.keys()].map((seed) => interest.get(seed) ?? 0));
  const scores = new Map<string, { score: number; strongest: number; because: string; category: string | null }>();
  for (const [seed, similar] of input.similarToRecent) {
    // A seed the profile does not weigh (an older caller) counts as a full one.
    const share = topInterest > 0 ? (interest.get(seed) ?? topInterest) / topInterest : 1;
    for (const candidate of similar) {
      const contribution = share * candidate.score;
      const entry = scores.get(candidate.productId);
      if (entry === undefined) {
        scores.set(candidate.productId, { score: contribution, strongest: contribution, because: seed, category: candidate.category });
      } else {
        entry.score += contribution;
        entry.category ??= candidate.category;
        if (contribution > entry.strongest) {
          entry.strongest = contribution;
          entry.because = seed;
        }
      }
    }
  }
  return [...scores.entries()].map(([productId, { score, because, category }]) => ({
    productId,
    score,
    category,
    reasons: [`session:similar-to:${because}`],
  }));
}

/**
 * The serving merge: the user's batch list, the session's neighbours and the just-bought products
 * customers buy again add up (each normalised); popular items fill below them. Then filtered
 * (suppressed purchases, products in the cart, out of stock, excluded, other categories) and boosted
 * by the session's categories; every item says why it is there. Pure and deterministic for one input.
 */
export function mergeRecommendations(input: MergeInput): RecommendedItem[] {
  const weights = input.weights ?? DEFAULT_MERGE_WEIGHTS;
  const pool = new Map<string, Candidate>();
  const entry = (candidate: Candidate): Candidate => {
    let existing = pool.get(candidate.productId);
    if (existing === undefined) pool.set(candidate.productId, (existing = { ...candidate, score: 0, reasons: [] }));
    existing.category ??= candidate.category;
    for (const reason of candidate.reasons) if (!existing.reasons.includes(reason)) existing.reasons.push(reason);
    return existing;
  };

  for (const candidate of normalised(input.personal)) entry(candidate).score += candidate.score;
  for (const candidate of normalised(sessionNeighbours(input))) entry(candidate).score += weights.sessionSimilar * candidate.score;
  for (const [productId, decision] of input.session.rebought) {
    const candidate = entry({ productId, score: 0, category: null, reasons: [reboughtReason(decision.basis)] });
    candidate.score += weights.rebought * decision.rate;
  }
  const fillWith = (popular: readonly Candidate[]) => {
    for (const candidate of normalised(popular)) {
      const existing = entry({ ...candidate, reasons: ['popular'] });
      existing.score = Math.max(existing.score, weights.popular * candidate.score);
    }
  };
  fillWith(input.popular);
  if (input.popularByCategory !== undefined) {
    const categories = new Set(input.category === undefined ? [] : [input.category]);
    for (const [category, boost] of input.session.categoryBoosts) if (boost > 0) categories.add(category);
    for (const category of categories) fillWith(input.popularByCategory.get(category) ?? []);
  }

  const excluded = new Set(input.exclude ?? []);
  const items: RecommendedItem[] = [];
  for (const candidate of pool.values()) {
    const { productId } = candidate;
    if (excluded.has(productId) || input.session.suppressed.has(productId) || input.session.inCart.has(productId)) continue;
    const facts = input.catalog.get(productId);
    if (facts !== undefined && !facts.inStock) continue;
    const category = facts?.category ?? candidate.category;
    if (input.category !== undefined && category !== input.category) continue;
    let score = candidate.score;
    const reasons = [...candidate.reasons];
    const boost = category === null ? undefined : input.session.categoryBoosts.get(category);
    if (boost !== undefined && boost > 0) {
      score *= 1 + input.policy.categoryBoost * boost;
      reasons.push(`session:category-boost:${category}`);
    }
    items.push({ productId, score: round(score), category, reasons });
  }
  items.sort((a, b) => b.score - a.score || byName(a.productId, b.productId));
  return items.slice(0, input.limit);
}
