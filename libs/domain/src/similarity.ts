import type { EventType } from '@lambdarec/contracts';
import { decayFactor, eventWeight } from './weights.js';

/** Aggregated history of one user with one product, as the batch layer reads it. */
export interface Interaction {
  userId: string;
  productId: string;
  type: EventType;
  count: number;
  /** Latest event time of this (user, product, type) in epoch ms. */
  lastAt: number;
  category: string | null;
}

export interface BatchPolicy {
  /** Similar items kept per product. @defaultValue 20 */
  similarPerItem: number;
  /** Recommendations kept per user. @defaultValue 50 */
  topNPerUser: number;
  /** Popular items kept. @defaultValue 100 */
  popularSize: number;
  /** Products per user that take part in co-occurrence (the strongest); bounds the pair count. @defaultValue 100 */
  maxItemsPerUser: number;
  /** Half-life of interest in popularity and user profiles. @defaultValue 14 days */
  interestHalfLifeMs: number;
}

export const DEFAULT_BATCH_POLICY: Readonly<BatchPolicy> = {
  similarPerItem: 20,
  topNPerUser: 50,
  popularSize: 100,
  maxItemsPerUser: 100,
  interestHalfLifeMs: 14 * 24 * 60 * 60 * 1000,
};

export interface ScoredItem {
  productId: string;
  score: number;
  category: string | null;
  reasons: string[];
}

export interface BatchModel {
  /** productId → similar products, best first. */
  similar: Map<string, ScoredItem[]>;
  /** userId → recommendations, best first. */
  perUser: Map<string, ScoredItem[]>;
  popular: ScoredItem[];
  stats: { users: number; items: number; similarityPairs: number };
}

const byScore = (a: ScoredItem, b: ScoredItem) => b.score - a.score || a.productId.localeCompare(b.productId);

/**
 * Item-item cosine similarity over users' weighted interest, per-user top-N by similarity to what
 * the user interacted with, and decayed popularity. `asOf` (the run's watermark) anchors decay so a
 * re-run over the same events gives the same model.
 */
export function computeBatchModel(interactions: Iterable<Interaction>, asOf: number, policy: BatchPolicy): BatchModel {
  const userInterest = new Map<string, Map<string, number>>();
  const categoryVotes = new Map<string, Map<string, number>>();
  const popularity = new Map<string, number>();

  for (const row of interactions) {
    const weight = eventWeight(row.type) * row.count * decayFactor(asOf - row.lastAt, policy.interestHalfLifeMs);
    let items = userInterest.get(row.userId);
    if (items === undefined) userInterest.set(row.userId, (items = new Map()));
    items.set(row.productId, (items.get(row.productId) ?? 0) + weight);
    popularity.set(row.productId, (popularity.get(row.productId) ?? 0) + weight);
    if (row.category !== null) {
      let votes = categoryVotes.get(row.productId);
      if (votes === undefined) categoryVotes.set(row.productId, (votes = new Map()));
      votes.set(row.category, (votes.get(row.category) ?? 0) + row.count);
    }
  }

  const categoryOf = new Map<string, string | null>();
  for (const productId of popularity.keys()) {
    const votes = categoryVotes.get(productId);
    let best: string | null = null;
    let bestCount = -1;
    for (const [category, count] of votes ?? []) {
      if (count > bestCount || (count === bestCount && best !== null && category < best)) {
        best = category;
        bestCount = count;
      }
    }
    categoryOf.set(productId, best);
  }

  // Cosine similarity on log-damped interest: heavy buyers do not drown everyone else. Products
  // are numbered (in name order, so results do not depend on input order) and pair sums live in
  // one Map keyed by lo * n + hi: millions of pairs without millions of nested Maps or objects.
  const names = [...popularity.keys()].sort();
  const n = names.length;
  const indexOf = new Map(names.map((name, index) => [name, index]));
  const norms = new Float64Array(n);
  const dot = new Map<number, number>();
  for (const items of userInterest.values()) {
    const strongest = [...items.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, policy.maxItemsPerUser)
      .map(([productId, weight]) => [indexOf.get(productId)!, Math.log1p(weight)] as const);
    for (const [index, w] of strongest) norms[index]! += w * w;
    for (let i = 0; i < strongest.length; i++) {
      const [a, wa] = strongest[i]!;
      for (let j = i + 1; j < strongest.length; j++) {
        const [b, wb] = strongest[j]!;
        const key = a < b ? a * n + b : b * n + a;
        dot.set(key, (dot.get(key) ?? 0) + wa * wb);
      }
    }
  }

  // Per product, its neighbours as parallel arrays; ScoredItems are made only for the kept top-K.
  const neighbourIndex: number[][] = Array.from({ length: n }, () => []);
  const neighbourScore: number[][] = Array.from({ length: n }, () => []);
  let similarityPairs = 0;
  for (const [key, product] of dot) {
    const a = Math.floor(key / n);
    const b = key - a * n;
    const score = product / Math.sqrt(norms[a]! * norms[b]!);
    // NaN (a product whose interest decayed to nothing) is no similarity either.
    if (!(score > 0)) continue;
    similarityPairs++;
    neighbourIndex[a]!.push(b);
    neighbourScore[a]!.push(score);
    neighbourIndex[b]!.push(a);
    neighbourScore[b]!.push(score);
  }
  const similar = new Map<string, ScoredItem[]>();
  for (let a = 0; a < n; a++) {
    const others = neighbourIndex[a]!;
    if (others.length === 0) continue;
    const scores = neighbourScore[a]!;
    const order = others.map((_, k) => k).sort((x, y) => scores[y]! - scores[x]! || others[x]! - others[y]!);
    const from = names[a]!;
    similar.set(
      from,
      order.slice(0, policy.similarPerItem).map((k) => {
        const to = names[others[k]!]!;
        return { productId: to, score: scores[k]!, category: categoryOf.get(to) ?? null, reasons: [`batch:similar-to:${from}`] };
      }),
    );
  }

  const perUser = new Map<string, ScoredItem[]>();
  for (const [userId, items] of userInterest) {
    const scores = new Map<string, { score: number; because: string; strongest: number }>();
    for (const [seed, interest] of items) {
      for (const neighbour of similar.get(seed) ?? []) {
        const contribution = Math.log1p(interest) * neighbour.score;
        const entry = scores.get(neighbour.productId);
        if (entry === undefined) {
          scores.set(neighbour.productId, { score: contribution, because: seed, strongest: contribution });
        } else {
          entry.score += contribution;
          if (contribution > entry.strongest) {
            entry.strongest = contribution;
            entry.because = seed;
          }
        }
      }
    }
    const list = [...scores.entries()]
      .map(([productId, { score, because }]) => ({
        productId,
        score,
        category: categoryOf.get(productId) ?? null,
        reasons: [`batch:similar-to:${because}`],
      }))
      .sort(byScore)
      .slice(0, policy.topNPerUser);
    if (list.length > 0) perUser.set(userId, list);
  }

  const popular = [...popularity.entries()]
    .map(([productId, score]) => ({ productId, score, category: categoryOf.get(productId) ?? null, reasons: ['popular'] }))
    .sort(byScore)
    .slice(0, policy.popularSize);

  return { similar, perUser, popular, stats: { users: userInterest.size, items: popularity.size, similarityPairs } };
}
