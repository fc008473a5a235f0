import type { RecommendedItem } from '@lambdarec/contracts';
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
  /** Items similar to products in the session, per viewed product. */
  similarToRecent: ReadonlyMap<string, readonly Candidate[]>;
  /** Popularity list of the published run: the fallback for unknown users and short lists. */
  popular: readonly Candidate[];
  session: SessionProfile;
  /** Catalog facts for candidate products; unknown products are in stock with their event category. */
  catalog: ReadonlyMap<string, CatalogFacts>;
  limit: number;
  category?: string | undefined;
  exclude?: readonly string[];
  policy: Pick<SessionPolicy, 'categoryBoost'>;
}

/** Similar-to-session candidates enter below the user's own picks of equal strength. */
const SIMILAR_WEIGHT = 0.8;
/** Popular items only fill the list; they rank under personal candidates. */
const POPULAR_WEIGHT = 0.5;

const round = (value: number): number => Math.round(value * 1e4) / 1e4;

function normalised(candidates: readonly Candidate[]): Candidate[] {
  const top = Math.max(0, ...candidates.map((c) => c.score));
  if (top <= 0) return candidates.map((c) => ({ ...c, score: 0 }));
  return candidates.map((c) => ({ ...c, score: c.score / top }));
}

/**
 * The serving merge: batch candidates (personal, similar to the session, popular) are normalised,
 * pooled, filtered (purchased, out of stock, excluded, other categories) and boosted by the session's
 * categories; every item says why it is there. Pure and deterministic for one input.
 */
export function mergeRecommendations(input: MergeInput): RecommendedItem[] {
  const pool = new Map<string, Candidate>();
  const add = (candidate: Candidate, weight: number) => {
    const score = candidate.score * weight;
    const existing = pool.get(candidate.productId);
    if (existing === undefined) {
      pool.set(candidate.productId, { ...candidate, score, reasons: [...candidate.reasons] });
      return;
    }
    existing.score = Math.max(existing.score, score);
    existing.category ??= candidate.category;
    for (const reason of candidate.reasons) if (!existing.reasons.includes(reason)) existing.reasons.push(reason);
  };

  for (const candidate of normalised(input.personal)) add(candidate, 1);
  for (const [recentProductId, similar] of input.similarToRecent) {
    for (const candidate of normalised(similar)) {
      add({ ...candidate, reasons: [`session:similar-to:${recentProductId}`] }, SIMILAR_WEIGHT);
    }
  }
  for (const candidate of normalised(input.popular)) add({ ...candidate, reasons: ['popular'] }, POPULAR_WEIGHT);

  const excluded = new Set(input.exclude ?? []);
  const items: RecommendedItem[] = [];
  for (const candidate of pool.values()) {
    if (excluded.has(candidate.productId) || input.session.suppressed.has(candidate.productId)) continue;
    const facts = input.catalog.get(candidate.productId);
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
    items.push({ productId: candidate.productId, score: round(score), category, reasons });
  }
  items.sort((a, b) => b.score - a.score || a.productId.localeCompare(b.productId));
  return items.slice(0, input.limit);
}
