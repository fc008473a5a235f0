import { byName } from './order.js';
import { PersonalScores } from './personal-scores.js';
import type { ScoredItem } from './scored-item.js';

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
   * One user's best `n` candidates: their personal scores (`personal`: product → score, as a Map
   * or as `rankUser`'s reused arrays; bought before unless `bought` says otherwise, and then
   * explained by `because`) plus
   * `neighbourWeight` × the summed neighbours of `seeds` (each seed weighted by its interest
   * relative to the strongest, neighbour sums normalised to the strongest), ranked by score, ties
   * by name. All arithmetic happens in the order of the definition, so the scores are exactly
   * those of adding it up in Maps; only the bookkeeping is in typed arrays.
   */
  topCandidates(
    seeds: ReadonlyArray<readonly [productId: string, interest: number]>,
    personal: ReadonlyMap<string, number> | PersonalScores,
    neighbourWeight: number,
    n: number,
    { bought, because }: { bought?: Pick<ReadonlySet<string>, 'has'>; because?: string | undefined } = {},
  ): RankedCandidate[] {
    const isBought = (productId: string) => bought === undefined || bought.has(productId);
    const touched = this.#accumulate(seeds);
    let top = 0;
    for (let k = 0; k < touched; k++) top = Math.max(top, this.#sum[this.#touched[k]!]!);
    const PERSONAL = 2;
    // Personal candidates that are also neighbours get their neighbour value added; the others stand alone.
    const aloneIds = this.#aloneIds;
    aloneIds.length = 0;
    // Map is global; a class check on PersonalScores would fail for one made by a second copy of this module.
    const {
      ids: personalIds,
      scores: personalScores,
      count: personalCount,
    } = personal instanceof Map ? PersonalScores.of(personal) : (personal as PersonalScores);
    let aloneScores = this.#aloneScores;
    if (aloneScores.length < personalCount)
      aloneScores = this.#aloneScores = new Float64Array(Math.max(personalCount, aloneScores.length * 2));
    for (let p = 0; p < personalCount; p++) {
      const productId = personalIds[p]!;
      const score = personalScores[p]!;
      const index = this.#indexOf.get(productId);
      if (top > 0 && index !== undefined && this.#seen[index] === 1) {
        this.#seen[index] = PERSONAL;
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
        this.#final[to] = this.#seen[to] === PERSONAL ? this.#final[to]! + value : value;
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
        ranked.push({
          productId: this.#products[to]!,
          score,
          bought: this.#seen[to] === PERSONAL && isBought(this.#products[to]!),
          because: this.#products[this.#because[to]!]!,
        });
      }
      this.#seen[to] = 0;
    }
    for (let k = 0; k < aloneIds.length; k++) {
      const score = aloneScores[k]!;
      if (score > 0 && score >= cutoff) {
        const productId = aloneIds[k]!;
        const wasBought = isBought(productId);
        ranked.push({ productId, score, bought: wasBought, because: wasBought ? undefined : because });
      }
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
    const [offsets, targets, scores, seen, sum, strongest, because, reached] = [
      this.#offsets,
      this.#targets,
      this.#scores,
      this.#seen,
      this.#sum,
      this.#strongest,
      this.#because,
      this.#touched,
    ];
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
  /**
   * The seed that contributed most, when it is also a neighbour; for a product only customers
   * like the user bought, the user's product those customers weigh most.
   */
  because: string | undefined;
  /** Bought before, and its usual wait before a re-buy has passed (set by `rankUser`). */
  due?: true;
}
