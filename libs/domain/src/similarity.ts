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
 * The batch model over an in-memory history. Similar items: cosine between products over users'
 * log-damped interest, not decayed. Per user: their own purchases as re-buy candidates (decayed by
 * the long profile half-life) plus the neighbours of everything they interacted with, each side
 * normalised to its best and blended by `neighbourWeight`. Popularity: decayed weighted interest.
 * Re-buying: per product and category, the share of buyers who bought again. `asOf` (the run's
 * watermark) anchors decay, so a re-run over the same events gives the same model.
 *
 * It is the sharded computation of the batch service run in one process: the same pieces
 * (`userSignals`, `ProductFactsAccumulator`, `CooccurrenceShard`, `userRecommendations`) in the
 * same order, so `shards` changes how the work is cut, never the model.
 */
export function computeBatchModel(
  interactions: Iterable<Interaction>,
  asOf: number,
  policy: BatchPolicy,
  { shards = 1 }: { shards?: number } = {},
): BatchModel {
  const histories = groupByUser(interactions);
  const facts = new ProductFactsAccumulator(asOf, policy);
  for (const { rows } of histories) for (const row of rows) facts.add(row);
  const products = facts.products();
  const categoryOf = facts.categories();

  const similar = new Map<string, ScoredItem[]>();
  let orderedPairs = 0;
  for (let shard = 0; shard < shards; shard++) {
    const cooccurrence = new CooccurrenceShard(products, (index) => index % shards === shard);
    for (const { rows } of histories) cooccurrence.addUser(userSignals(rows, asOf, policy).cooccurrence);
    for (const [productId, items] of cooccurrence.similarItems(policy, categoryOf)) similar.set(productId, items);
    orderedPairs += cooccurrence.pairs;
  }
  // Shards fill the map product by product in their own order; the model lists products in name order.
  const similarInOrder = new Map(products.filter((id) => similar.has(id)).map((id) => [id, similar.get(id)!]));

  const perUser = new Map<string, ScoredItem[]>();
  for (const { userId, rows } of histories) {
    const list = userRecommendations(userSignals(rows, asOf, policy), (id) => similarInOrder.get(id), categoryOf, policy);
    if (list.length > 0) perUser.set(userId, list);
  }
  const all = facts.facts();
  return {
    similar: similarInOrder,
    perUser,
    popular: topPopular(all, policy),
    repurchase: repurchaseTable(all),
    stats: { users: histories.length, items: products.length, similarityPairs: orderedPairs / 2 },
  };
}

/** One user's interactions, every type and product: the unit a batch shard streams. */
export interface UserHistory {
  userId: string;
  rows: Interaction[];
}

/** Groups rows by user, users in name order (the order in which the batch service streams them). */
export function groupByUser(interactions: Iterable<Interaction>): UserHistory[] {
  const byUser = new Map<string, Interaction[]>();
  for (const row of interactions) {
    let rows = byUser.get(row.userId);
    if (rows === undefined) byUser.set(row.userId, (rows = []));
    rows.push(row);
  }
  return [...byUser.keys()].sort().map((userId) => ({ userId, rows: byUser.get(userId)! }));
}

/** What one user's history contributes to the model. */
export interface UserSignals {
  /** The user's strongest products by undecayed interest (at most `maxItemsPerUser`), log-damped: what co-occurrence counts. */
  cooccurrence: Array<readonly [productId: string, weight: number]>;
  /** Interest decayed by the profile half-life: the seeds of the user's neighbours. */
  profile: Map<string, number>;
  /** Purchases decayed by the profile half-life: the re-buy candidates. */
  purchases: Map<string, number>;
}

export function userSignals(rows: Iterable<Interaction>, asOf: number, policy: BatchPolicy): UserSignals {
  const interest = new Map<string, number>();
  const profile = new Map<string, number>();
  const purchases = new Map<string, number>();
  for (const row of rows) {
    const weight = eventWeight(row.type) * row.count;
    const decay = decayFactor(asOf - row.lastAt, policy.profileHalfLifeMs);
    interest.set(row.productId, (interest.get(row.productId) ?? 0) + weight);
    profile.set(row.productId, (profile.get(row.productId) ?? 0) + weight * decay);
    if (row.type === 'purchase') purchases.set(row.productId, (purchases.get(row.productId) ?? 0) + row.count * decay);
  }
  const cooccurrence = strongestFirst(interest)
    .slice(0, policy.maxItemsPerUser)
    .map(([productId, weight]) => [productId, Math.log1p(weight)] as const);
  return { cooccurrence, profile, purchases };
}

/** What a run learns about one product from every row that names it. */
export interface ProductFacts {
  productId: string;
  /** Weighted interest decayed by the popularity half-life. */
  popularity: number;
  /** The category most rows name (ties: the first in name order); null when none does. */
  category: string | null;
  /** Customers who bought it, and those who bought it more than once. */
  buyers: number;
  rebuyers: number;
}

/**
 * Per-product facts, row by row in any order. Its memory grows with the catalogue, not with the
 * history: every shard can afford all of it.
 */
export class ProductFactsAccumulator {
  readonly #popularity = new Map<string, number>();
  readonly #repurchase = new Map<string, RepurchaseStats>();
  readonly #categoryVotes = new Map<string, Map<string, number>>();

  constructor(
    private readonly asOf: number,
    private readonly policy: BatchPolicy,
  ) {}

  add(row: Interaction): void {
    const weight = eventWeight(row.type) * row.count;
    const decay = decayFactor(this.asOf - row.lastAt, this.policy.interestHalfLifeMs);
    this.#popularity.set(row.productId, (this.#popularity.get(row.productId) ?? 0) + weight * decay);
    if (row.type === 'purchase') {
      let stats = this.#repurchase.get(row.productId);
      if (stats === undefined) this.#repurchase.set(row.productId, (stats = { buyers: 0, rebuyers: 0 }));
      stats.buyers++;
      if (row.count >= 2) stats.rebuyers++;
    }
    if (row.category !== null) {
      let votes = this.#categoryVotes.get(row.productId);
      if (votes === undefined) this.#categoryVotes.set(row.productId, (votes = new Map()));
      votes.set(row.category, (votes.get(row.category) ?? 0) + row.count);
    }
  }

  /** Every product seen, in name order: the numbering that co-occurrence shards share. */
  products(): string[] {
    return [...this.#popularity.keys()].sort();
  }

  categories(): Map<string, string | null> {
    return new Map(this.products().map((productId) => [productId, this.#category(productId)]));
  }

  facts(): ProductFacts[] {
    return this.products().map((productId) => {
      const stats = this.#repurchase.get(productId);
      return {
        productId,
        popularity: this.#popularity.get(productId)!,
        category: this.#category(productId),
        buyers: stats?.buyers ?? 0,
        rebuyers: stats?.rebuyers ?? 0,
      };
    });
  }

  #category(productId: string): string | null {
    let best: string | null = null;
    let bestCount = -1;
    for (const [category, count] of this.#categoryVotes.get(productId) ?? []) {
      if (count > bestCount || (count === bestCount && best !== null && category < best)) {
        best = category;
        bestCount = count;
      }
    }
    return best;
  }
}

/** A shard needs more room for item pairs than it may take: more shards are needed. */
export class PairLimitError extends Error {
  override readonly name = 'PairLimitError';
}

/**
 * Item-item co-occurrence for the products a shard owns. Users are added one at a time; for each
 * owned product in a user's list, the pair with every other product of the list accumulates. Pair
 * sums live in an open-addressing table of typed arrays (owned product, other product, sum): about
 * 16 bytes per slot instead of a Map entry's ~80, and no 2^24-entry ceiling. `maxPairs` bounds it;
 * the batch service picks the shard count so that no shard reaches it.
 *
 * Norms are kept for every product (an array the size of the catalogue), so each shard computes
 * cosine for its pairs without asking the others.
 */
export class CooccurrenceShard {
  readonly #indexOf: Map<string, number>;
  readonly #localOf: Int32Array;
  readonly #owned: number[] = [];
  readonly #norms: Float64Array;
  #owner = new Int32Array(0);
  #other = new Int32Array(0);
  #sum = new Float64Array(0);
  #used = 0;
  /** Distinct (owned, other) pairs accumulated: each pair between two owned products counts twice. */
  get pairs(): number {
    return this.#used;
  }

  constructor(
    private readonly products: readonly string[],
    owns: (index: number) => boolean,
    private readonly maxPairs = 2 ** 28,
  ) {
    this.#indexOf = new Map(products.map((id, index) => [id, index]));
    this.#localOf = new Int32Array(products.length).fill(-1);
    for (let index = 0; index < products.length; index++) {
      if (owns(index)) {
        this.#localOf[index] = this.#owned.length;
        this.#owned.push(index);
      }
    }
    this.#norms = new Float64Array(products.length);
    this.#resize(1024);
  }

  /** Adds one user's co-occurrence list (`UserSignals.cooccurrence`). */
  addUser(list: ReadonlyArray<readonly [productId: string, weight: number]>): void {
    const indexes = list.map(([productId]) => {
      const index = this.#indexOf.get(productId);
      if (index === undefined) throw new RangeError(`product ${productId} is not in the shard's product list`);
      return index;
    });
    for (let i = 0; i < list.length; i++) this.#norms[indexes[i]!]! += list[i]![1] * list[i]![1];
    for (let i = 0; i < list.length; i++) {
      const local = this.#localOf[indexes[i]!]!;
      if (local < 0) continue;
      const wi = list[i]![1];
      for (let j = 0; j < list.length; j++) {
        if (j !== i) this.#add(local, indexes[j]!, wi * list[j]![1]);
      }
    }
  }

  /**
   * The owned products' neighbours, best first (ties: name order), `similarPerItem` each, as the
   * model stores them. Products without a positive similarity are left out.
   */
  similarItems(policy: BatchPolicy, categoryOf: ReadonlyMap<string, string | null>): Map<string, ScoredItem[]> {
    // Group the table by owned product (a counting sort), then rank each group.
    const counts = new Int32Array(this.#owned.length + 1);
    for (let slot = 0; slot < this.#owner.length; slot++) if (this.#owner[slot]! >= 0) counts[this.#owner[slot]! + 1]!++;
    for (let local = 0; local < this.#owned.length; local++) counts[local + 1]! += counts[local]!;
    const others = new Int32Array(this.#used);
    const scores = new Float64Array(this.#used);
    const fill = counts.slice(0, this.#owned.length);
    for (let slot = 0; slot < this.#owner.length; slot++) {
      const local = this.#owner[slot]!;
      if (local < 0) continue;
      const b = this.#other[slot]!;
      const at = fill[local]!++;
      others[at] = b;
      scores[at] = this.#sum[slot]! / Math.sqrt(this.#norms[this.#owned[local]!]! * this.#norms[b]!);
    }
    const similar = new Map<string, ScoredItem[]>();
    for (let local = 0; local < this.#owned.length; local++) {
      const order: number[] = [];
      for (let at = counts[local]!; at < counts[local + 1]!; at++) if (scores[at]! > 0) order.push(at);
      if (order.length === 0) continue;
      order.sort((x, y) => scores[y]! - scores[x]! || others[x]! - others[y]!);
      const from = this.products[this.#owned[local]!]!;
      similar.set(
        from,
        order.slice(0, policy.similarPerItem).map((at) => {
          const to = this.products[others[at]!]!;
          return { productId: to, score: scores[at]!, category: categoryOf.get(to) ?? null, reasons: [`batch:similar-to:${from}`] };
        }),
      );
    }
    return similar;
  }

  #slotOf(local: number, other: number): number {
    const mask = this.#owner.length - 1;
    let slot = (Math.imul(local, 0x9e3779b1) ^ Math.imul(other + 0x632be5ab, 0x85ebca77)) >>> 0;
    slot = (slot ^ (slot >>> 15)) & mask;
    while (this.#owner[slot]! >= 0 && (this.#owner[slot] !== local || this.#other[slot] !== other)) slot = (slot + 1) & mask;
    return slot;
  }

  #add(local: number, other: number, value: number): void {
    let slot = this.#slotOf(local, other);
    if (this.#owner[slot]! < 0) {
      if (this.#used >= this.maxPairs) {
        throw new PairLimitError(`a co-occurrence shard reached its limit of ${this.maxPairs} item pairs`);
      }
      // At most half full: probes stay short.
      if ((this.#used + 1) * 2 > this.#owner.length) {
        this.#resize(this.#owner.length * 2);
        slot = this.#slotOf(local, other);
      }
      this.#owner[slot] = local;
      this.#other[slot] = other;
      this.#used++;
    }
    this.#sum[slot]! += value;
  }

  #resize(capacity: number): void {
    const [owner, other, sum] = [this.#owner, this.#other, this.#sum];
    this.#owner = new Int32Array(capacity).fill(-1);
    this.#other = new Int32Array(capacity);
    this.#sum = new Float64Array(capacity);
    for (let slot = 0; slot < owner.length; slot++) {
      if (owner[slot]! < 0) continue;
      const to = this.#slotOf(owner[slot]!, other[slot]!);
      this.#owner[to] = owner[slot]!;
      this.#other[to] = other[slot]!;
      this.#sum[to] = sum[slot]!;
    }
  }
}

/**
 * One user's recommendations: re-buy candidates (their decayed purchases, normalised to the
 * strongest) plus `neighbourWeight` × neighbour candidates (similarities weighted by the profile,
 * normalised to the strongest), best first, `topNPerUser` of them. A product can be both; its
 * reasons then say both.
 */
export function userRecommendations(
  { profile, purchases }: Pick<UserSignals, 'profile' | 'purchases'>,
  similarTo: (productId: string) => readonly ScoredItem[] | undefined,
  categoryOf: ReadonlyMap<string, string | null>,
  policy: BatchPolicy,
): ScoredItem[] {
  const neighbours = new Map<string, { score: number; because: string; strongest: number }>();
  const seeds = strongestFirst(profile).slice(0, policy.maxItemsPerUser);
  const topInterest = seeds[0]?.[1] ?? 0;
  if (topInterest > 0) {
    for (const [seed, interest] of seeds) {
      for (const neighbour of similarTo(seed) ?? []) {
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
  const scores = new Map<string, ScoredItem>();
  const topPurchase = Math.max(0, ...purchases.values());
  if (topPurchase > 0) {
    for (const [productId, amount] of purchases) {
      scores.set(productId, { productId, score: amount / topPurchase, category: categoryOf.get(productId) ?? null, reasons: [BOUGHT_BEFORE_REASON] });
    }
  }
  let topNeighbour = 0;
  for (const entry of neighbours.values()) topNeighbour = Math.max(topNeighbour, entry.score);
  if (topNeighbour > 0) {
    for (const [productId, { score, because }] of neighbours) {
      const value = (policy.neighbourWeight * score) / topNeighbour;
      const existing = scores.get(productId);
      if (existing === undefined) {
        scores.set(productId, { productId, score: value, category: categoryOf.get(productId) ?? null, reasons: [`batch:similar-to:${because}`] });
      } else {
        existing.score += value;
        existing.reasons.push(`batch:similar-to:${because}`);
      }
    }
  }
  return [...scores.values()]
    .filter((entry) => entry.score > 0)
    .sort(byScore)
    .slice(0, policy.topNPerUser);
}

/** The most popular products, best first. */
export function topPopular(facts: Iterable<ProductFacts>, policy: BatchPolicy): ScoredItem[] {
  return [...facts]
    .map(({ productId, popularity, category }) => ({ productId, score: popularity, category, reasons: ['popular'] }))
    .sort(byScore)
    .slice(0, policy.popularSize);
}

/** Re-buying per product (products someone bought) and summed per category. */
export function repurchaseTable(facts: Iterable<ProductFacts>): RepurchaseTable {
  const products = new Map<string, RepurchaseStats>();
  const categories = new Map<string, RepurchaseStats>();
  for (const { productId, category, buyers, rebuyers } of facts) {
    if (buyers === 0) continue;
    products.set(productId, { buyers, rebuyers });
    if (category === null) continue;
    const total = categories.get(category) ?? { buyers: 0, rebuyers: 0 };
    total.buyers += buyers;
    total.rebuyers += rebuyers;
    categories.set(category, total);
  }
  return { products, categories };
}

const strongestFirst = (items: ReadonlyMap<string, number>): Array<[string, number]> =>
  [...items.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
