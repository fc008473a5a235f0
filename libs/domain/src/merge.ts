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
  // One reasons array per seed, shared by its candidates: the merge copies reasons, never changes them.
  const reasonsOf = new Map<string, string[]>();
  const neighbours: Candidate[] = [];
  for (const [productId, { score, because, category }] of scores) {
    let reasons = reasonsOf.get(because);
    if (reasons === undefined) reasonsOf.set(because, (reasons = [`session:similar-to:${because}`]));
    neighbours.push({ productId, score, category, reasons });
  }
  return neighbours;
}

/**
 * The serving merge: the user's batch list, the session's neighbours and the just-bought products
 * customers buy again add up (each normalised); popular items fill below them. Then filtered
 * (suppressed purchases, products in the cart, out of stock, excluded, other categories) and boosted
 * by the session's categories; every item says why it is there. Pure and deterministic for one input.
 */
export function mergeRecommendations(input: MergeInput): RecommendedItem[] {
  // Serving runs this per request over a hundred or more candidates: it avoids copying candidates
  // to normalise them, and builds the answer's reasons only for the items that make the cut.
  const weights = input.weights ?? DEFAULT_MERGE_WEIGHTS;
  const pool = new Map<string, Candidate>();
  const entry = (productId: string, category: string | null, reasons: readonly string[]): Candidate => {
    let existing = pool.get(productId);
    if (existing === undefined) pool.set(productId, (existing = { productId, score: 0, category, reasons: [] }));
    existing.category ??= category;
    for (const reason of reasons) if (!existing.reasons.includes(reason)) existing.reasons.push(reason);
    return existing;
  };
  const bestOf = (candidates: readonly Candidate[]) => {
    let top = 0;
    for (const c of candidates) if (c.score > top) top = c.score;
    return top;
  };
  /** Adds `weight` × each candidate's score normalised to the list's best (0 for all when the best is not positive). */
  const add = (candidates: readonly Candidate[], weight: number) => {
    const top = bestOf(candidates);
    for (const c of candidates) entry(c.productId, c.category, c.reasons).score += top > 0 ? weight * (c.score / top) : 0;
  };

  add(input.personal, 1);
  add(sessionNeighbours(input), weights.sessionSimilar);
  for (const [productId, decision] of input.session.rebought) {
    entry(productId, null, [reboughtReason(decision.basis)]).score += weights.rebought * decision.rate;
  }
  const fillWith = (popular: readonly Candidate[]) => {
    const top = bestOf(popular);
    for (const c of popular) {
      const existing = entry(c.productId, c.category, POPULAR_REASONS);
      existing.score = Math.max(existing.score, top > 0 ? weights.popular * (c.score / top) : 0);
    }
  };
  fillWith(input.popular);
  if (input.popularByCategory !== undefined) {
    const categories = new Set(input.category === undefined ? [] : [input.category]);
    for (const [category, boost] of input.session.categoryBoosts) if (boost > 0) categories.add(category);
    for (const category of categories) fillWith(input.popularByCategory.get(category) ?? []);
  }

  const excluded = new Set(input.exclude ?? []);
  type Ranked = { candidate: Candidate; score: number; category: string | null; boosted: boolean };
  const before = (a: Ranked, b: Ranked) => b.score - a.score || byName(a.candidate.productId, b.candidate.productId);
  // The best `limit`, kept in order as candidates come: a few hundred candidates, ten wanted.
  const ranked: Ranked[] = [];
  const offer = (item: Ranked) => {
    if (input.limit <= 0 || (ranked.length >= input.limit && before(item, ranked[ranked.length - 1]!) >= 0)) return;
    let at = ranked.length;
    while (at > 0 && before(item, ranked[at - 1]!) < 0) at--;
    ranked.splice(at, 0, item);
    if (ranked.length > input.limit) ranked.pop();
  };
  for (const candidate of pool.values()) {
    const { productId } = candidate;
    if (excluded.has(productId) || input.session.suppressed.has(productId) || input.session.inCart.has(productId)) continue;
    const facts = input.catalog.get(productId);
    if (facts !== undefined && !facts.inStock) continue;
    const category = facts?.category ?? candidate.category;
    if (input.category !== undefined && category !== input.category) continue;
    const boost = category === null ? undefined : input.session.categoryBoosts.get(category);
    const boosted = boost !== undefined && boost > 0;
    const score = round(boosted ? candidate.score * (1 + input.policy.categoryBoost * boost) : candidate.score);
    offer({ candidate, score, category, boosted });
  }
  return ranked.map(({ candidate, score, category, boosted }) => ({
    productId: candidate.productId,
    score,
    category,
    reasons: boosted ? [...candidate.reasons, `session:category-boost:${category}`] : [...candidate.reasons],
  }));
}

const POPULAR_REASONS: readonly string[] = ['popular'];
