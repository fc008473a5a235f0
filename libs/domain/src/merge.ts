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
  /**
   * A just-bought product customers often buy again gains this × its re-buy share. 1 since the
   * batch view blends the nearest customers' re-buys (ADR 016): chosen on the validation window's
   * purchase sessions. @defaultValue 1
   */
  rebought: number;
  /**
   * Popular items only fill the list: under the user's own candidates and under what the session
   * brings (a new shopper's cart shows what goes with it before the best-sellers). 0.1 since the
   * batch view blends the nearest customers' re-buys (ADR 016): chosen on the validation window.
   * @defaultValue 0.1
   */
  popular: number;
}

/** Tuned on the eval's validation window (`npm run eval -- --tune`); see docs/decisions/006. */
export const DEFAULT_MERGE_WEIGHTS: Readonly<MergeWeights> = { sessionSimilar: 0.4, rebought: 1, popular: 0.1 };

const round = (value: number): number => Math.round(value * 1e4) / 1e4;

/**
 * The session's products as one more profile: each similar item scores the sum of its similarity
 * to each session product times that product's share of the session's interest, named after the
 * product that contributed most.
 */
export function sessionNeighbours(input: Pick<MergeInput, 'session' | 'similarToRecent'>): Candidate[] {
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
  // Serving runs this per request over a hundred or more candidates, most of which do not make the
  // cut: a pool entry shares its first source's reasons array and copies it only when a second
  // source adds a reason, and a candidate becomes a ranked object only when it makes the cut so far.
  const weights = input.weights ?? DEFAULT_MERGE_WEIGHTS;
  const pool = new Map<string, PoolEntry>();
  /** Another source's word on a pooled product: its category if the pool has none, its reasons added. */
  const join = (existing: PoolEntry, category: string | null, reasons: readonly string[]) => {
    existing.category ??= category;
    if (reasons === existing.reasons) return;
    for (const reason of reasons) {
      if (existing.reasons.includes(reason)) continue;
      if (!existing.ownReasons) {
        existing.reasons = [...existing.reasons];
        existing.ownReasons = true;
      }
      (existing.reasons as string[]).push(reason);
    }
  };
  const entry = (productId: string, category: string | null, reasons: readonly string[]): PoolEntry => {
    const existing = pool.get(productId);
    if (existing !== undefined) {
      join(existing, category, reasons);
      return existing;
    }
    const created: PoolEntry = { productId, score: 0, category, reasons, ownReasons: false };
    pool.set(productId, created);
    return created;
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
  if (input.similarToRecent.size > 0) add(sessionNeighbours(input), weights.sessionSimilar);
  for (const [productId, decision] of input.session.rebought) {
    entry(productId, null, [reboughtReason(decision.basis)]).score += weights.rebought * decision.rate;
  }
  // Popular items fill below: a product already in the pool takes the better of its score and its
  // fill, and is said to be popular too.
  const popularLists: Array<readonly Candidate[]> = [input.popular];
  if (input.popularByCategory !== undefined) {
    const categories = new Set(input.category === undefined ? [] : [input.category]);
    for (const [category, boost] of input.session.categoryBoosts) if (boost > 0) categories.add(category);
    for (const category of categories) {
      const list = input.popularByCategory.get(category);
      if (list !== undefined && list.length > 0) popularLists.push(list);
    }
  }
  const fillOf = (c: Candidate, top: number) => (top > 0 ? weights.popular * (c.score / top) : 0);
  for (const list of popularLists) {
    const top = bestOf(list);
    for (const c of list) {
      const existing = pool.get(c.productId);
      if (existing === undefined) continue;
      join(existing, c.category, POPULAR_REASONS);
      existing.score = Math.max(existing.score, fillOf(c, top));
    }
  }

  const excluded = input.exclude === undefined || input.exclude.length === 0 ? undefined : new Set(input.exclude);
  const { suppressed, inCart, categoryBoosts } = input.session;
  const limit = input.limit;
  // The best `limit`, kept in order as candidates come: a few hundred candidates, ten wanted.
  const ranked: Ranked[] = [];
  /** Whether a candidate with this score and name ranks before the ranked item (higher score, then name). */
  const ranksBefore = (score: number, productId: string, item: Ranked) =>
    score > item.score || (score === item.score && byName(productId, item.candidate.productId) < 0);
  const consider = (candidate: PoolEntry) => {
    const { productId } = candidate;
    if (excluded?.has(productId) || suppressed.has(productId) || inCart.has(productId)) return;
    const facts = input.catalog.get(productId);
    if (facts !== undefined && !facts.inStock) return;
    const category = facts?.category ?? candidate.category;
    if (input.category !== undefined && category !== input.category) return;
    const boost = category === null ? undefined : categoryBoosts.get(category);
    // A boost weighed at 0 (a variant that turns it off) changes nothing, so it gives no reason either.
    const boosted = boost !== undefined && boost > 0 && input.policy.categoryBoost > 0;
    const score = round(boosted ? candidate.score * (1 + input.policy.categoryBoost * boost) : candidate.score);
    if (limit <= 0 || (ranked.length >= limit && !ranksBefore(score, productId, ranked[ranked.length - 1]!))) return;
    let at = ranked.length;
    while (at > 0 && ranksBefore(score, productId, ranked[at - 1]!)) at--;
    ranked.splice(at, 0, { candidate, score, category, boosted });
    if (ranked.length > limit) ranked.pop();
  };
  for (const candidate of pool.values()) consider(candidate);

  // Products only the popular lists bring. The list ranked so far only gets harder to enter, so a
  // product whose fill, at the largest category boost, rounds below its last item cannot make the
  // cut and is passed over (most of the popular list, for a shopper with a list of their own).
  // With several lists a product's category comes from the first list that has it, so every one
  // is kept then.
  let largestBoost = 0;
  for (const boost of categoryBoosts.values()) if (boost > largestBoost) largestBoost = boost;
  const mostBoosted = Math.max(1, 1 + input.policy.categoryBoost * largestBoost);
  const bar = limit > 0 && ranked.length >= limit && popularLists.length === 1 ? ranked[limit - 1]!.score : undefined;
  const popularOnly = new Map<string, PoolEntry>();
  for (const list of popularLists) {
    const top = bestOf(list);
    for (const c of list) {
      if (pool.has(c.productId)) continue;
      const fill = fillOf(c, top);
      if (bar !== undefined && round(fill * mostBoosted) < bar) continue;
      const existing = popularOnly.get(c.productId);
      if (existing === undefined) {
        popularOnly.set(c.productId, {
          productId: c.productId,
          score: fill,
          category: c.category,
          reasons: POPULAR_REASONS,
          ownReasons: false,
        });
      } else {
        existing.category ??= c.category;
        existing.score = Math.max(existing.score, fill);
      }
    }
  }
  for (const candidate of popularOnly.values()) consider(candidate);
  return ranked.map(({ candidate, score, category, boosted }) => ({
    productId: candidate.productId,
    score,
    category,
    reasons: boosted ? [...candidate.reasons, `session:category-boost:${category}`] : [...candidate.reasons],
  }));
}

/** A candidate in the merge's pool; `reasons` is a source's own array until a second source adds to it. */
interface PoolEntry {
  productId: string;
  score: number;
  category: string | null;
  reasons: readonly string[];
  ownReasons: boolean;
}

interface Ranked {
  candidate: PoolEntry;
  score: number;
  category: string | null;
  boosted: boolean;
}

const POPULAR_REASONS: readonly string[] = ['popular'];
