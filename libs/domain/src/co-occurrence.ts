import type { BatchPolicy } from './batch-policy.js';
import { SIMILAR_TO_REASON, type ScoredItem } from './scored-item.js';

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
    this.addNumbered(
      numbers,
      list.map(([, weight]) => weight),
    );
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
