/**
 * What the next-basket baselines (P-Pop, TIFU-KNN, UP-CF@r) share: each customer's baskets in
 * order, an index of the training window's products, and how many baskets hold each product.
 * Written for the eval alone; nothing here is shared with the domain library.
 */
import type { Basket } from './split.js';

/**
 * A next-basket recommender that can take the live session as the customer's latest basket:
 * the streamed invoice after a purchase session, or the carted first half of a basket. It is
 * appended to the history before scoring, as the methods' papers treat a new basket.
 */
export interface NextBasketRecommender {
  /** Up to `k` products for the customer, best first. */
  recommend(customerId: string, k: number, latestBasket?: readonly string[]): string[];
}

/** A sparse vector over the catalogue's indices, sorted by index. */
export interface SparseVector {
  indices: Int32Array;
  values: Float64Array;
  /** Squared Euclidean norm. */
  norm2: number;
}

/**
 * Many sparse vectors in three flat arrays (compressed rows): the neighbour sums walk one typed
 * array instead of thousands of small objects, several times faster on the full dataset.
 */
export interface PackedRows {
  /** Row r holds entries rowStart[r] .. rowStart[r + 1] − 1. */
  rowStart: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

export function packRows(rows: readonly SparseVector[]): PackedRows {
  const rowStart = new Int32Array(rows.length + 1);
  rows.forEach((row, r) => (rowStart[r + 1] = rowStart[r]! + row.indices.length));
  const indices = new Int32Array(rowStart[rows.length]!);
  const values = new Float64Array(rowStart[rows.length]!);
  rows.forEach((row, r) => {
    indices.set(row.indices, rowStart[r]!);
    values.set(row.values, rowStart[r]!);
  });
  return { rowStart, indices, values };
}

/** scores += weight · row r. */
export function addRow(scores: Float64Array, packed: PackedRows, row: number, weight: number): void {
  const { rowStart, indices, values } = packed;
  const end = rowStart[row + 1]!;
  for (let j = rowStart[row]!; j < end; j++) scores[indices[j]!]! += weight * values[j]!;
}

/** Each customer's baskets, oldest first, as lists of distinct products. */
export function basketSequences(train: readonly Basket[]): Map<string, string[][]> {
  const sequences = new Map<string, string[][]>();
  const ordered = [...train].sort((a, b) => a.at - b.at || a.invoice.localeCompare(b.invoice));
  for (const basket of ordered) {
    let sequence = sequences.get(basket.customerId);
    if (sequence === undefined) sequences.set(basket.customerId, (sequence = []));
    sequence.push([...new Set(basket.items)]);
  }
  return sequences;
}

/** The training window's products and how many of its baskets hold each. */
export interface ItemCatalogue {
  /** Product ids, sorted: position = index in the vectors below. */
  names: readonly string[];
  indexOf: ReadonlyMap<string, number>;
  /** Baskets holding each product, by index. */
  basketsHolding: Float64Array;
  /** Product indices by `basketsHolding`, most first (ties by id). */
  byPopularity: readonly number[];
  baskets: number;
}

export function itemCatalogue(train: readonly Basket[]): ItemCatalogue {
  const names = [...new Set(train.flatMap((b) => b.items))].sort();
  const indexOf = new Map(names.map((name, i) => [name, i]));
  const basketsHolding = new Float64Array(names.length);
  for (const basket of train) for (const item of new Set(basket.items)) basketsHolding[indexOf.get(item)!]!++;
  const byPopularity = names.map((_, i) => i).sort((a, b) => basketsHolding[b]! - basketsHolding[a]! || a - b);
  return { names, indexOf, basketsHolding, byPopularity, baskets: train.length };
}

/** Products the catalogue knows, as indices; an unknown product (first seen in a session) is left out. */
export function toIndices(items: readonly string[], catalogue: ItemCatalogue): number[] {
  const indices: number[] = [];
  for (const item of items) {
    const index = catalogue.indexOf.get(item);
    if (index !== undefined) indices.push(index);
  }
  return indices;
}

/**
 * The `k` best products by a dense score vector (only positive scores count; ties by index, so
 * the answer never depends on the order of a hash map), then global popularity to fill.
 */
export function topByScore(scores: Float64Array, catalogue: ItemCatalogue, k: number): string[] {
  // A sorted buffer of the best k so far: one pass over the catalogue, no sort of every product
  // (the tuning grids ask for thousands of lists).
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    if (!(score > 0)) continue;
    if (best.length === k && score <= scores[best[k - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && scores[best[at - 1]!]! < score) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  if (best.length < k) {
    const listed = new Set(best);
    for (const index of catalogue.byPopularity) {
      if (best.length >= k) break;
      if (!listed.has(index)) best.push(index);
    }
  }
  return best.map((i) => catalogue.names[i]!);
}
