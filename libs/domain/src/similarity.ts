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
  /** Similar items kept per product. @defaultValue 50 */
  similarPerItem: number;
  /** Recommendations kept per user. @defaultValue 50 */
  topNPerUser: number;
  /** Popular items kept. @defaultValue 100 */
  popularSize: number;
  /** Products per user that take part in co-occurrence (the strongest); bounds the pair count. @defaultValue 100 */
  maxItemsPerUser: number;
  /** Half-life of popularity: what sells now, not what sold last year. @defaultValue 14 days */
  interestHalfLifeMs: number;
  /**
   * Half-life of a user's own history in their profile. Long: most customers come back after weeks
   * or months, and what they bought then still says what they buy (UCI: median 2 invoices a year).
   * Similarities do not decay at all: an old co-purchase is as much evidence as a new one.
   * @defaultValue 365 days
   */
  profileHalfLifeMs: number;
  /**
   * Weight of similar items against the user's own re-buys, each side normalised to its best.
   * Tuned on the eval's validation window (`npm run eval -- --tune`). @defaultValue 0.3
   */
  neighbourWeight: number;
}

export const DEFAULT_BATCH_POLICY: Readonly<BatchPolicy> = {
  similarPerItem: 50,
  topNPerUser: 50,
  popularSize: 100,
  maxItemsPerUser: 100,
  interestHalfLifeMs: 14 * 24 * 60 * 60 * 1000,
  profileHalfLifeMs: 365 * 24 * 60 * 60 * 1000,
  neighbourWeight: 0.3,
};

export interface ScoredItem {
  productId: string;
  score: number;
  category: string | null;
  reasons: string[];
}

/** How many customers bought a product (or a category's products) and how many bought it again. */
export interface RepurchaseStats {
  buyers: number;
  rebuyers: number;
}

export interface RepurchaseTable {
  products: Map<string, RepurchaseStats>;
  categories: Map<string, RepurchaseStats>;
}

export interface BatchModel {
  /** productId → similar products, best first. */
  similar: Map<string, ScoredItem[]>;
  /** userId → recommendations, best first. */
  perUser: Map<string, ScoredItem[]>;
  popular: ScoredItem[];
  /** Re-buying per product and per category, for serving's purchase suppression. */
  repurchase: RepurchaseTable;
  stats: { users: number; items: number; similarityPairs: number };
}

/** A per-user reason: the product is one the user bought before (a re-buy candidate). */
export const BOUGHT_BEFORE_REASON = 'batch:bought-before';

const byScore = (a: ScoredItem, b: ScoredItem) => b.score - a.score || a.productId.localeCompare(b.productId);

/**
 * The batch model. Similar items: cosine between products over users' log-damped interest, not
 * decayed. Per user: their own purchases as re-buy candidates (decayed by the long profile
 * half-life) plus the neighbours of everything they interacted with, each side normalised to its
 * best and blended by `neighbourWeight`. Popularity: decayed weighted interest. Re-buying: per
 * product and category, the share of buyers who bought again. `asOf` (the run's watermark)
 * anchors decay, so a re-run over the same events gives the same model.
 */
export function computeBatchModel(interactions: Iterable<Interaction>, asOf: number, policy: BatchPolicy): BatchModel {
  /** user → product → undecayed weighted interest (for similarities). */
  const userInterest = new Map<string, Map<string, number>>();
  /** user → product → interest decayed by the profile half-life (the user's profile). */
  const userProfile = new Map<string, Map<string, number>>();
  /** user → product → purchases decayed by the profile half-life (re-buy candidates). */
  const userPurchases = new Map<string, Map<string, number>>();
  const categoryVotes = new Map<string, Map<string, number>>();
  const popularity = new Map<string, number>();
  const productRepurchase = new Map<string, RepurchaseStats>();

  const addTo = (outer: Map<string, Map<string, number>>, userId: string, productId: string, value: number) => {
    let inner = outer.get(userId);
    if (inner === undefined) outer.set(userId, (inner = new Map()));
    inner.set(productId, (inner.get(productId) ?? 0) + value);
  };

  for (const row of interactions) {
    const weight = eventWeight(row.type) * row.count;
    const age = asOf - row.lastAt;
    addTo(userInterest, row.userId, row.productId, weight);
    addTo(userProfile, row.userId, row.productId, weight * decayFactor(age, policy.profileHalfLifeMs));
    popularity.set(row.productId, (popularity.get(row.productId) ?? 0) + weight * decayFactor(age, policy.interestHalfLifeMs));
    if (row.type === 'purchase') {
      addTo(userPurchases, row.userId, row.productId, row.count * decayFactor(age, policy.profileHalfLifeMs));
      let stats = productRepurchase.get(row.productId);
      if (stats === undefined) productRepurchase.set(row.productId, (stats = { buyers: 0, rebuyers: 0 }));
      stats.buyers++;
      if (row.count >= 2) stats.rebuyers++;
    }
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

  const categoryRepurchase = new Map<string, RepurchaseStats>();
  for (const [productId, stats] of productRepurchase) {
    const category = categoryOf.get(productId);
    if (category === null || category === undefined) continue;
    const total = categoryRepurchase.get(category) ?? { buyers: 0, rebuyers: 0 };
    total.buyers += stats.buyers;
    total.rebuyers += stats.rebuyers;
    categoryRepurchase.set(category, total);
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
    const strongest = strongestFirst(items)
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
    if (!(score > 0)) continue;
    similarityPairs++;
    neighbourIndex[a]!.push(b);
    neighbourScore[a]!.push(score);
    neighbourIndex[b]!.push(a);
    neighbourScore[b]!.push(score);
  }
  dot.clear();
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
  for (const [userId, profile] of userProfile) {
    const list = personalList(profile, userPurchases.get(userId), similar, policy)
      .map(({ productId, score, reasons }) => ({ productId, score, category: categoryOf.get(productId) ?? null, reasons }))
      .sort(byScore)
      .slice(0, policy.topNPerUser);
    if (list.length > 0) perUser.set(userId, list);
  }

  const popular = [...popularity.entries()]
    .map(([productId, score]) => ({ productId, score, category: categoryOf.get(productId) ?? null, reasons: ['popular'] }))
    .sort(byScore)
    .slice(0, policy.popularSize);

  return {
    similar,
    perUser,
    popular,
    repurchase: { products: productRepurchase, categories: categoryRepurchase },
    stats: { users: userInterest.size, items: popularity.size, similarityPairs },
  };
}

const strongestFirst = (items: ReadonlyMap<string, number>): Array<[string, number]> =>
  [...items.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

interface PersonalScore {
  productId: string;
  score: number;
  reasons: string[];
}

/**
 * One user's list: re-buy candidates (their decayed purchases, normalised to the strongest) plus
 * `neighbourWeight` × neighbour candidates (similarities weighted by the profile, normalised to the
 * strongest). A product can be both; its reasons then say both.
 */
function personalList(
  profile: ReadonlyMap<string, number>,
  purchases: ReadonlyMap<string, number> | undefined,
  similar: ReadonlyMap<string, readonly ScoredItem[]>,
  policy: BatchPolicy,
): PersonalScore[] {
  const neighbours = new Map<string, { score: number; because: string; strongest: number }>();
  const seeds = strongestFirst(profile).slice(0, policy.maxItemsPerUser);
  const topInterest = seeds[0]?.[1] ?? 0;
  if (topInterest > 0) {
    for (const [seed, interest] of seeds) {
      for (const neighbour of similar.get(seed) ?? []) {
        const contribution = (interest / topInterest) * neighbour.score;
        const entry = neighbours.get(neighbour.productId);
        if (entry === undefined) neighbours.set(neighbour.productId, { score: contribution, because: seed, strongest: contribution });
        else {
          entry.score += contribution;
          if (contribution > entry.strongest) {
            entry.strongest = contribution;
            entry.because = seed;
          }
        }
      }
    }
  }
  const scores = new Map<string, PersonalScore>();
  const topPurchase = Math.max(0, ...(purchases?.values() ?? []));
  if (topPurchase > 0) {
    for (const [productId, amount] of purchases!) {
      scores.set(productId, { productId, score: amount / topPurchase, reasons: [BOUGHT_BEFORE_REASON] });
    }
  }
  let topNeighbour = 0;
  for (const entry of neighbours.values()) topNeighbour = Math.max(topNeighbour, entry.score);
  if (topNeighbour > 0) {
    for (const [productId, { score, because }] of neighbours) {
      const value = (policy.neighbourWeight * score) / topNeighbour;
      const existing = scores.get(productId);
      if (existing === undefined) scores.set(productId, { productId, score: value, reasons: [`batch:similar-to:${because}`] });
      else {
        existing.score += value;
        existing.reasons.push(`batch:similar-to:${because}`);
      }
    }
  }
  return [...scores.values()].filter((entry) => entry.score > 0);
}
