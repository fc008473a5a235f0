import type { EventType } from '@lambdarec/contracts';
import { byName } from './order.js';
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
  /** Popular items kept per category, for cold starts in a category. @defaultValue 20 */
  popularPerCategory: number;
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
  popularPerCategory: 20,
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
  /** category → its most popular products, best first. */
  popularByCategory: Map<string, ScoredItem[]>;
  /** Re-buying per product and per category, for serving's purchase suppression. */
  repurchase: RepurchaseTable;
  stats: { users: number; items: number; similarityPairs: number };
}

/** A per-user reason: the product is one the user bought before (a re-buy candidate). */
export const BOUGHT_BEFORE_REASON = 'batch:bought-before';
/** Prefix of a similar item's reason, followed by the product it is similar to. */
export const SIMILAR_TO_REASON = 'batch:similar-to:';

const byScore = (a: ScoredItem, b: ScoredItem) => b.score - a.score || byName(a.productId, b.productId);

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
  const index = new SimilarityIndex(similarInOrder);
  for (const { userId, rows } of histories) {
    const list = userRecommendations(userSignals(rows, asOf, policy), index, categoryOf, policy);
    if (list.length > 0) perUser.set(userId, list);
  }
  const all = facts.facts();
  return {
    similar: similarInOrder,
    perUser,
    popular: topPopular(all, policy),
    popularByCategory: topPopularByCategory(all, policy),
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
  const { profile, purchases } = addUpHistory(rows, asOf, policy, interest);
  const cooccurrence = strongestFirst(interest)
    .slice(0, policy.maxItemsPerUser)
    .map(([productId, weight]) => [productId, Math.log1p(weight)] as const);
  return { cooccurrence, profile, purchases };
}

/** What ranking a user's list takes from their history. */
export type UserProfile = Pick<UserSignals, 'profile' | 'purchases'>;

/**
 * `userSignals` without the co-occurrence list: the per-user stage ranks a user from their profile
 * and purchases only, so it need not sort and log-damp a list it would throw away.
 */
export function userProfile(rows: Iterable<Interaction>, asOf: number, policy: BatchPolicy): UserProfile {
  return addUpHistory(rows, asOf, policy);
}

function addUpHistory(rows: Iterable<Interaction>, asOf: number, policy: BatchPolicy, interest?: Map<string, number>): UserProfile {
  const profile = new Map<string, number>();
  const purchases = new Map<string, number>();
  for (const row of rows) {
    const weight = eventWeight(row.type) * row.count;
    const decay = decayFactor(asOf - row.lastAt, policy.profileHalfLifeMs);
    interest?.set(row.productId, (interest.get(row.productId) ?? 0) + weight);
    profile.set(row.productId, (profile.get(row.productId) ?? 0) + weight * decay);
    if (row.type === 'purchase') purchases.set(row.productId, (purchases.get(row.productId) ?? 0) + row.count * decay);
  }
  return { profile, purchases };
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
    const numbers = list.map(([productId]) => {
      const index = this.#indexOf.get(productId);
      if (index === undefined) throw new RangeError(`product ${productId} is not in the shard's product list`);
      return index;
    });
    this.addNumbered(numbers, list.map(([, weight]) => weight));
  }

  /** Adds one user's co-occurrence list given as product numbers and weights, in list order. */
  addNumbered(indexes: ArrayLike<number>, weights: ArrayLike<number>): void {
    for (let i = 0; i < indexes.length; i++) this.#norms[indexes[i]!]! += weights[i]! * weights[i]!;
    for (let i = 0; i < indexes.length; i++) {
      const local = this.#localOf[indexes[i]!]!;
      if (local < 0) continue;
      const wi = weights[i]!;
      for (let j = 0; j < indexes.length; j++) {
        if (j !== i) this.#add(local, indexes[j]!, wi * weights[j]!);
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
          return { productId: to, score: scores[at]!, category: categoryOf.get(to) ?? null, reasons: [`${SIMILAR_TO_REASON}${from}`] };
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
 * The similar lists of a run as typed arrays (compressed rows: product → neighbours and scores),
 * with scratch space for ranking one user at a time. A run ranks every user against the same
 * lists: with products numbered, a user's neighbour scores add up in a dense array instead of a
 * Map keyed by product id (tens of millions of additions per run).
 */
export class SimilarityIndex {
  readonly #products: string[];
  readonly #indexOf: Map<string, number>;
  readonly #offsets: Int32Array;
  readonly #targets: Int32Array;
  readonly #scores: Float64Array;
  readonly #sum: Float64Array;
  readonly #strongest: Float64Array;
  readonly #because: Int32Array;
  readonly #seen: Uint8Array;
  readonly #touched: Int32Array;
  readonly #final: Float64Array;
  #buffer = new Float64Array(256);
  readonly #aloneIds: string[] = [];
  #aloneScores = new Float64Array(16);

  constructor(similar: ReadonlyMap<string, readonly ScoredItem[]>) {
    this.#products = [];
    this.#indexOf = new Map();
    const number = (id: string) => {
      let index = this.#indexOf.get(id);
      if (index === undefined) {
        index = this.#products.length;
        this.#indexOf.set(id, index);
        this.#products.push(id);
      }
      return index;
    };
    let edges = 0;
    for (const [from, items] of similar) {
      number(from);
      for (const item of items) number(item.productId);
      edges += items.length;
    }
    const n = this.#products.length;
    this.#offsets = new Int32Array(n + 1);
    this.#targets = new Int32Array(edges);
    this.#scores = new Float64Array(edges);
    const lists: Array<readonly ScoredItem[] | undefined> = new Array(n);
    for (const [from, items] of similar) lists[this.#indexOf.get(from)!] = items;
    let at = 0;
    for (let index = 0; index < n; index++) {
      this.#offsets[index] = at;
      for (const item of lists[index] ?? []) {
        this.#targets[at] = this.#indexOf.get(item.productId)!;
        this.#scores[at++] = item.score;
      }
    }
    this.#offsets[n] = at;
    this.#sum = new Float64Array(n);
    this.#strongest = new Float64Array(n);
    this.#because = new Int32Array(n);
    this.#seen = new Uint8Array(n);
    this.#touched = new Int32Array(n);
    this.#final = new Float64Array(n);
  }

  /**
   * One user's best `n` candidates: their purchases (`purchased`: product → re-buy score) plus
   * `neighbourWeight` × the summed neighbours of `seeds` (each seed weighted by its interest
   * relative to the strongest, neighbour sums normalised to the strongest), ranked by score, ties
   * by name. All arithmetic happens in the order of the definition, so the scores are exactly
   * those of adding it up in Maps; only the bookkeeping is in typed arrays.
   */
  topCandidates(
    seeds: ReadonlyArray<readonly [productId: string, interest: number]>,
    purchased: ReadonlyMap<string, number>,
    neighbourWeight: number,
    n: number,
  ): RankedCandidate[] {
    const touched = this.#accumulate(seeds);
    let top = 0;
    for (let k = 0; k < touched; k++) top = Math.max(top, this.#sum[this.#touched[k]!]!);
    const BOUGHT = 2;
    // Purchases that are also neighbours get their neighbour value added; the others stand alone.
    const aloneIds = this.#aloneIds;
    aloneIds.length = 0;
    let aloneScores = this.#aloneScores;
    if (aloneScores.length < purchased.size) aloneScores = this.#aloneScores = new Float64Array(Math.max(purchased.size, aloneScores.length * 2));
    for (const [productId, score] of purchased) {
      const index = this.#indexOf.get(productId);
      if (top > 0 && index !== undefined && this.#seen[index] === 1) {
        this.#seen[index] = BOUGHT;
        this.#final[index] = score;
      } else {
        aloneScores[aloneIds.length] = score;
        aloneIds.push(productId);
      }
    }
    const scores = this.#scratch(touched + aloneIds.length);
    let count = 0;
    if (top > 0) {
      for (let k = 0; k < touched; k++) {
        const to = this.#touched[k]!;
        const value = (neighbourWeight * this.#sum[to]!) / top;
        this.#final[to] = this.#seen[to] === BOUGHT ? this.#final[to]! + value : value;
        if (this.#final[to]! > 0) scores[count++] = this.#final[to]!;
      }
    }
    for (let k = 0; k < aloneIds.length; k++) if (aloneScores[k]! > 0) scores[count++] = aloneScores[k]!;
    // The n-th best score is the cut-off; only candidates at or above it are ranked with ties, as a
    // full sort would rank them. Selecting it is linear, where sorting every candidate's score
    // (hundreds a user) was the largest part of ranking.
    const cutoff = count > n ? kthSmallest(scores, count, count - n) : 0;
    const ranked: RankedCandidate[] = [];
    for (let k = 0; k < touched; k++) {
      const to = this.#touched[k]!;
      const score = this.#final[to]!;
      if (top > 0 && score > 0 && score >= cutoff) {
        ranked.push({ productId: this.#products[to]!, score, bought: this.#seen[to] === BOUGHT, because: this.#products[this.#because[to]!]! });
      }
      this.#seen[to] = 0;
    }
    for (let k = 0; k < aloneIds.length; k++) {
      const score = aloneScores[k]!;
      if (score > 0 && score >= cutoff) ranked.push({ productId: aloneIds[k]!, score, bought: true, because: undefined });
    }
    ranked.sort((x, y) => y.score - x.score || byName(x.productId, y.productId));
    if (ranked.length > n) ranked.length = n;
    return ranked;
  }

  /** Sums the seeds' neighbours into the dense arrays; returns how many products were reached. */
  #accumulate(seeds: ReadonlyArray<readonly [productId: string, interest: number]>): number {
    const topInterest = seeds[0]?.[1] ?? 0;
    if (!(topInterest > 0)) return 0;
    // Locals, not fields, in the loop that runs tens of millions of times a run.
    const [offsets, targets, scores, seen, sum, strongest, because, reached] = [this.#offsets, this.#targets, this.#scores, this.#seen, this.#sum, this.#strongest, this.#because, this.#touched];
    let touched = 0;
    for (let s = 0; s < seeds.length; s++) {
      const [seed, interest] = seeds[s]!;
      const from = this.#indexOf.get(seed);
      if (from === undefined) continue;
      const relative = interest / topInterest;
      const end = offsets[from + 1]!;
      for (let at = offsets[from]!; at < end; at++) {
        const to = targets[at]!;
        const contribution = relative * scores[at]!;
        if (seen[to] === 0) {
          seen[to] = 1;
          reached[touched++] = to;
          sum[to] = contribution;
          strongest[to] = contribution;
          because[to] = from;
        } else {
          sum[to]! += contribution;
          if (contribution > strongest[to]!) {
            strongest[to] = contribution;
            because[to] = from;
          }
        }
      }
    }
    return touched;
  }

  #scratch(size: number): Float64Array {
    if (this.#buffer.length < size) this.#buffer = new Float64Array(Math.max(size, this.#buffer.length * 2));
    return this.#buffer;
  }
}

/**
 * The k-th smallest (from 0) of `values[0..count)`, which it reorders: Hoare's selection with a
 * median-of-three pivot. The pivot is always one of the values in range, so the scans stop at it.
 * NaN must not occur (candidates' scores are positive).
 */
function kthSmallest(values: Float64Array, count: number, k: number): number {
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const a = values[lo]!;
    const b = values[(lo + hi) >>> 1]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const swap = values[i]!;
        values[i++] = values[j]!;
        values[j--] = swap;
      }
    }
    // values[lo..j] <= pivot <= values[i..hi], and anything between equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

/** A candidate as `SimilarityIndex.topCandidates` ranks it. */
export interface RankedCandidate {
  productId: string;
  score: number;
  /** The user bought it before (a re-buy candidate). */
  bought: boolean;
  /** The seed that contributed most, when it is also a neighbour. */
  because: string | undefined;
}

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

/** The most popular products, best first. */
export function topPopular(facts: Iterable<ProductFacts>, policy: BatchPolicy): ScoredItem[] {
  return [...facts]
    .map(({ productId, popularity, category }) => ({ productId, score: popularity, category, reasons: ['popular'] }))
    .sort(byScore)
    .slice(0, policy.popularSize);
}

/**
 * The most popular products of each category, best first: what a shopper new to the shop sees
 * when they browse a category, or ask for one, instead of the shop-wide best-sellers that the
 * category filter would mostly throw away.
 */
export function topPopularByCategory(facts: Iterable<ProductFacts>, policy: BatchPolicy): Map<string, ScoredItem[]> {
  const byCategory = new Map<string, ScoredItem[]>();
  for (const { productId, popularity, category } of facts) {
    if (category === null) continue;
    let list = byCategory.get(category);
    if (list === undefined) byCategory.set(category, (list = []));
    list.push({ productId, score: popularity, category, reasons: ['popular'] });
  }
  for (const [category, list] of byCategory) byCategory.set(category, list.sort(byScore).slice(0, policy.popularPerCategory));
  return byCategory;
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
  [...items.entries()].sort((a, b) => b[1] - a[1] || byName(a[0], b[0]));
