import { PersonalScores } from './personal-scores.js';

/** How a user's re-buy vector meets the vectors of the customers most like them (TIFU-KNN's k and α). */
export interface CustomerNeighbourPolicy {
  /**
   * Customers whose vectors are averaged (k). Chosen with α on the eval's validation window for
   * the blend as served (with the re-buy share and item-kNN), not for TIFU-KNN alone (k 50, α 0.1).
   * @defaultValue 20
   */
  customerNeighbours: number;
  /**
   * α: the user's own vector against the neighbours' mean. Small: on the eval's validation window
   * the neighbours carry most of the weight, since they also re-buy what the user buys. @defaultValue 0.2
   */
  ownRebuyWeight: number;
  /**
   * The user's strongest products through which neighbours are looked up: 20 lost 0.005 NDCG@10
   * on the eval against all, 100 (as many as co-occurrence takes) nothing. @defaultValue 100
   */
  neighbourQueryProducts: number;
  /**
   * Customers kept per product to be found through it (those with its strongest weight): a
   * best-seller's thousands of buyers would make the search quadratic. @defaultValue 1000
   */
  neighbourPostings: number;
}

/** A user's personal scores: own re-buys blended with what the nearest customers re-buy. */
export interface NeighbourBlend {
  /** product → α · own + (1 − α) · neighbours' mean, only products above 0. */
  scores: Map<string, number>;
  /** The user's product the neighbours weigh most: why a product only they bought is here. */
  sharedMost: string | undefined;
}

/**
 * Every customer's re-buy vector over numbered products (compressed rows), with postings per
 * product for finding a user's nearest customers. Nearest is TIFU-KNN's: the smallest Euclidean
 * distance between the vectors, among the customers who share a product with the user (a
 * customer sharing nothing brings nothing to blend; the eval measured no loss from leaving them
 * out). Memory: the vectors' entries, about one per (customer, product bought), and a dense
 * score array per product and per customer; never the history.
 */
export class CustomerNeighbourIndex {
  readonly #products: readonly string[];
  readonly #numberOf: Map<string, number>;
  readonly #customerIndex: Map<string, number>;
  readonly #rowStart: Int32Array;
  readonly #rowProducts: Int32Array;
  readonly #rowValues: Float64Array;
  readonly #norm2: Float64Array;
  readonly #postingStart: Int32Array;
  readonly #postingCustomers: Int32Array;
  readonly #postingValues: Float64Array;
  readonly #policy: CustomerNeighbourPolicy;
  readonly #dots: Float64Array;
  readonly #touched: Int32Array;
  readonly #scores: Float64Array;
  readonly #reached: Int32Array;
  readonly #nearestIds: Int32Array;
  readonly #nearestDistances: Float64Array;
  readonly #slot: Int32Array;
  readonly #blended = new PersonalScores();

  /**
   * `products`: the run's products in number order; `customers`: each customer's id and vector as
   * product numbers and weights (any order of customers; product numbers ascending or not).
   */
  constructor(products: readonly string[], customers: CustomerVectors, policy: CustomerNeighbourPolicy) {
    this.#products = products;
    this.#numberOf = new Map(products.map((id, number) => [id, number]));
    this.#policy = policy;
    const count = customers.ids.length;
    this.#customerIndex = new Map(customers.ids.map((id, index) => [id, index]));
    this.#rowStart = customers.rowStart;
    this.#rowProducts = customers.products;
    this.#rowValues = customers.values;
    this.#norm2 = new Float64Array(count);
    const holders = new Int32Array(products.length);
    for (let c = 0; c < count; c++) {
      let norm2 = 0;
      for (let at = this.#rowStart[c]!; at < this.#rowStart[c + 1]!; at++) {
        norm2 += this.#rowValues[at]! ** 2;
        holders[this.#rowProducts[at]!]!++;
      }
      this.#norm2[c] = norm2;
    }
    // Postings: per product, its holders (compressed rows filled from the counts, no object per
    // entry); a product held by more than the cap keeps its strongest (ties: the customer first).
    const cap = policy.neighbourPostings;
    const allStart = new Int32Array(products.length + 1);
    for (let p = 0; p < products.length; p++) allStart[p + 1] = allStart[p]! + holders[p]!;
    const allCustomers = new Int32Array(allStart[products.length]!);
    const allValues = new Float64Array(allStart[products.length]!);
    const filled = allStart.slice(0, products.length);
    for (let c = 0; c < count; c++) {
      for (let at = this.#rowStart[c]!; at < this.#rowStart[c + 1]!; at++) {
        const p = this.#rowProducts[at]!;
        allCustomers[filled[p]!] = c;
        allValues[filled[p]!++] = this.#rowValues[at]!;
      }
    }
    this.#postingStart = new Int32Array(products.length + 1);
    for (let p = 0; p < products.length; p++) this.#postingStart[p + 1] = this.#postingStart[p]! + Math.min(holders[p]!, cap);
    this.#postingCustomers = new Int32Array(this.#postingStart[products.length]!);
    this.#postingValues = new Float64Array(this.#postingStart[products.length]!);
    for (let p = 0; p < products.length; p++) {
      const from = allStart[p]!;
      const to = allStart[p + 1]!;
      let at = this.#postingStart[p]!;
      if (to - from <= cap) {
        this.#postingCustomers.set(allCustomers.subarray(from, to), at);
        this.#postingValues.set(allValues.subarray(from, to), at);
        continue;
      }
      const order = Array.from({ length: to - from }, (_, k) => from + k);
      order.sort((x, y) => allValues[y]! - allValues[x]! || allCustomers[x]! - allCustomers[y]!);
      for (let k = 0; k < cap; k++) {
        this.#postingCustomers[at] = allCustomers[order[k]!]!;
        this.#postingValues[at++] = allValues[order[k]!]!;
      }
    }
    this.#dots = new Float64Array(count);
    this.#touched = new Int32Array(count);
    this.#scores = new Float64Array(products.length);
    this.#reached = new Int32Array(products.length);
    this.#nearestIds = new Int32Array(Math.max(0, policy.customerNeighbours));
    this.#nearestDistances = new Float64Array(Math.max(0, policy.customerNeighbours));
    this.#slot = new Int32Array(products.length);
  }

  /** Bytes in the index's typed arrays (vectors, postings, scratch); the ids' Map and strings come on top. */
  get arrayBytes(): number {
    let bytes = 0;
    for (const array of [
      this.#rowStart,
      this.#rowProducts,
      this.#rowValues,
      this.#norm2,
      this.#postingStart,
      this.#postingCustomers,
      this.#postingValues,
      this.#dots,
      this.#touched,
      this.#scores,
      this.#reached,
      this.#nearestIds,
      this.#nearestDistances,
      this.#slot,
    ])
      bytes += array.byteLength;
    return bytes;
  }

  /**
   * The user's personal scores: α × their own vector plus (1 − α) × the mean vector of their k
   * nearest customers (the user themself left out by id). α is the policy's unless the run
   * trained its own (`BlendTrainer`).
   */
  blend(userId: string, own: ReadonlyMap<string, number>, ownRebuyWeight = this.#policy.ownRebuyWeight): NeighbourBlend {
    const sharedMost = this.blendInto(userId, own, ownRebuyWeight, this.#blended);
    return { scores: this.#blended.toMap(), sharedMost };
  }

  /**
   * `blend` into `out` (cleared first), without a Map: the user's own products first (those above
   * 0, in `own`'s order), then the products only the neighbours bring, in the order they were
   * reached; the same sums in the same order. Returns the user's product the neighbours weigh most.
   */
  blendInto(userId: string, own: ReadonlyMap<string, number>, ownRebuyWeight: number, out: PersonalScores): string | undefined {
    const { customerNeighbours, neighbourQueryProducts } = this.#policy;
    const self = this.#customerIndex.get(userId) ?? -1;
    const query: Array<readonly [number, number]> = [];
    let queryNorm2 = 0;
    for (const [productId, value] of own) {
      queryNorm2 += value * value;
      const number = this.#numberOf.get(productId);
      if (number !== undefined && value > 0) query.push([number, value]);
    }
    query.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    if (query.length > neighbourQueryProducts) query.length = neighbourQueryProducts;

    const dots = this.#dots;
    const touched = this.#touched;
    let touchedCount = 0;
    for (const [product, value] of query) {
      for (let at = this.#postingStart[product]!; at < this.#postingStart[product + 1]!; at++) {
        const customer = this.#postingCustomers[at]!;
        if (customer === self) continue;
        if (dots[customer] === 0) touched[touchedCount++] = customer;
        dots[customer]! += value * this.#postingValues[at]!;
      }
    }
    // The k nearest by squared distance (ties: the customer listed first), kept sorted in a small
    // array as the touched customers come: a best-seller's buyers touch tens of thousands, and
    // sorting them all per user was most of a run's user-items time.
    const nearestIds = this.#nearestIds;
    const nearestDistances = this.#nearestDistances;
    let found = 0;
    for (let t = 0; t < touchedCount; t++) {
      const c = touched[t]!;
      const distance = queryNorm2 + this.#norm2[c]! - 2 * dots[c]!;
      dots[c] = 0;
      if (found === customerNeighbours) {
        const last = found - 1;
        if (!(distance < nearestDistances[last]! || (distance === nearestDistances[last] && c < nearestIds[last]!))) continue;
        found--;
      }
      let at = found++;
      while (at > 0 && (nearestDistances[at - 1]! > distance || (nearestDistances[at - 1] === distance && nearestIds[at - 1]! > c))) {
        nearestDistances[at] = nearestDistances[at - 1]!;
        nearestIds[at] = nearestIds[at - 1]!;
        at--;
      }
      nearestDistances[at] = distance;
      nearestIds[at] = c;
    }
    const candidates = nearestIds.subarray(0, found);

    const scores = this.#scores;
    const reached = this.#reached;
    let reachedCount = 0;
    // A zero is "not reached yet", so only positive amounts are added (α 1 adds none at all).
    const add = (product: number, value: number) => {
      if (!(value > 0)) return;
      if (scores[product] === 0) reached[reachedCount++] = product;
      scores[product]! += value;
    };
    const share = candidates.length > 0 ? (1 - ownRebuyWeight) / candidates.length : 0;
    for (const c of candidates) {
      for (let at = this.#rowStart[c]!; at < this.#rowStart[c + 1]!; at++) add(this.#rowProducts[at]!, share * this.#rowValues[at]!);
    }
    // The user's product the neighbours weigh most (strongest of the user's first on a tie).
    let sharedMost: string | undefined;
    let sharedMostValue = 0;
    for (const [number] of query) {
      if (scores[number]! > sharedMostValue) {
        sharedMost = this.#products[number]!;
        sharedMostValue = scores[number]!;
      }
    }
    // Where each own product sits in `out` (+1; 0: not there), to add the neighbours' part to it.
    const slot = this.#slot;
    out.count = 0;
    for (const [productId, value] of own) {
      if (!(value > 0)) continue;
      const number = this.#numberOf.get(productId);
      if (number !== undefined) slot[number] = out.count + 1;
      out.push(productId, ownRebuyWeight * value);
    }
    for (let k = 0; k < reachedCount; k++) {
      const number = reached[k]!;
      const value = scores[number]!;
      scores[number] = 0;
      if (!(value > 0)) continue;
      const at = slot[number]!;
      if (at > 0) out.scores[at - 1] = out.scores[at - 1]! + value;
      else out.push(this.#products[number]!, value);
    }
    for (const productId of own.keys()) {
      const number = this.#numberOf.get(productId);
      if (number !== undefined) slot[number] = 0;
    }
    return sharedMost;
  }
}

/** A vector as product numbers (ascending) and weights: the form the batch stores between stages and the index takes. */
export function numberedRebuyVector(rebuy: ReadonlyMap<string, number>, numberOf: ReadonlyMap<string, number>) {
  const entries = [...rebuy].map(([id, value]) => [numberOf.get(id)!, value] as const).sort((a, b) => a[0] - b[0]);
  return { numbers: entries.map(([number]) => number), values: entries.map(([, value]) => value) };
}

/** Customers' vectors in compressed rows: customer c's entries are rowStart[c] .. rowStart[c + 1] − 1. */
export interface CustomerVectors {
  ids: string[];
  rowStart: Int32Array;
  products: Int32Array;
  values: Float64Array;
}

/**
 * Collects customers' vectors one at a time into growing typed arrays, for a run that streams
 * them from the database: no object per entry.
 */
export class CustomerVectorsBuilder {
  readonly #ids: string[] = [];
  #rowStart = new Int32Array(1024);
  #products = new Int32Array(4096);
  #values = new Float64Array(4096);
  #entries = 0;

  add(userId: string, products: readonly number[], values: readonly number[]): void {
    const rows = this.#ids.length;
    if (rows + 2 > this.#rowStart.length) this.#rowStart = grow(this.#rowStart, rows + 2);
    if (this.#entries + products.length > this.#products.length) {
      this.#products = grow(this.#products, this.#entries + products.length);
      this.#values = grow(this.#values, this.#entries + products.length);
    }
    // Only positive weights: the search marks a customer found by a dot product above 0.
    for (let k = 0; k < products.length; k++) {
      if (!(values[k]! > 0)) continue;
      this.#products[this.#entries] = products[k]!;
      this.#values[this.#entries++] = values[k]!;
    }
    this.#ids.push(userId);
    this.#rowStart[rows + 1] = this.#entries;
  }

  build(): CustomerVectors {
    return {
      ids: this.#ids,
      rowStart: this.#rowStart.slice(0, this.#ids.length + 1),
      products: this.#products.slice(0, this.#entries),
      values: this.#values.slice(0, this.#entries),
    };
  }
}

function grow<T extends Int32Array | Float64Array>(array: T, atLeast: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(Math.max(atLeast, array.length * 2));
  bigger.set(array);
  return bigger;
}
