/**
 * TIFU-KNN, from Hu, He, Gao and Zhang, "Modeling Personalized Item Frequency Information for
 * Next-basket Recommendation" (SIGIR 2020), written from the paper's description.
 *
 * A customer is a vector of time-decayed item frequencies. Their n baskets (binary vectors b_i,
 * oldest first) are cut into G = ⌈n/m⌉ groups of m baskets; the oldest group holds the remainder,
 * so the newest basket always closes a full group. Within a group g of |g| baskets:
 *
 *   v_g = (1/|g|) · Σ_{i=1..|g|} r_b^(|g|−i) · b_i
 *
 * and across the groups, oldest first:
 *
 *   v_u = (1/G) · Σ_{j=1..G} r_g^(G−j) · v_g_j
 *
 * The prediction blends the customer's own vector with the mean of their k nearest neighbours'
 * vectors (nearest by the distance between these vectors):
 *
 *   p_u = α · v_u + (1 − α) · (1/k) · Σ_{w ∈ N_k(u)} v_w
 */
import {
  addRow,
  basketSequences,
  packRows,
  itemCatalogue,
  toIndices,
  topByScore,
  type ItemCatalogue,
  type NextBasketRecommender,
  type PackedRows,
  type SparseVector,
} from './basket-history.js';
import type { Basket } from './split.js';

export type TifuDistance = 'euclidean' | 'cosine';

/** How the per-customer vectors are built (the paper's m, r_b, r_g). */
export interface TifuVectorSettings {
  /** m: baskets per group. */
  groupSize: number;
  /** r_b: decay from a basket to the one before it, inside a group. */
  withinGroupDecay: number;
  /** r_g: decay from a group to the one before it. */
  acrossGroupDecay: number;
}

export interface TifuKnnSettings extends TifuVectorSettings {
  /** k: neighbours averaged. */
  neighbours: number;
  /** α: weight of the customer's own vector against the neighbours' mean. */
  ownWeight: number;
  distance: TifuDistance;
}

/** The customer's time-decayed item-frequency vector, from baskets of product indices, oldest first. */
export function tifuUserVector(baskets: ReadonlyArray<readonly number[]>, settings: TifuVectorSettings): SparseVector {
  const { groupSize, withinGroupDecay, acrossGroupDecay } = settings;
  const n = baskets.length;
  const weights = new Map<number, number>();
  if (n > 0) {
    const groups = Math.ceil(n / groupSize);
    const oldestGroupSize = n - (groups - 1) * groupSize;
    let start = 0;
    for (let j = 1; j <= groups; j++) {
      const size = j === 1 ? oldestGroupSize : groupSize;
      const groupWeight = acrossGroupDecay ** (groups - j) / groups;
      for (let i = 1; i <= size; i++) {
        const weight = (groupWeight * withinGroupDecay ** (size - i)) / size;
        for (const item of new Set(baskets[start + i - 1]!)) weights.set(item, (weights.get(item) ?? 0) + weight);
      }
      start += size;
    }
  }
  const entries = [...weights.entries()].sort((a, b) => a[0] - b[0]);
  const values = Float64Array.from(entries, ([, value]) => value);
  return { indices: Int32Array.from(entries, ([index]) => index), values, norm2: values.reduce((sum, v) => sum + v * v, 0) };
}

/** Every customer's vector for one (m, r_b, r_g), with an inverted index to find neighbours. */
export interface TifuVectors {
  settings: TifuVectorSettings;
  catalogue: ItemCatalogue;
  customers: readonly string[];
  vectors: readonly SparseVector[];
  /** The same vectors packed, for the neighbour sums. */
  packed: PackedRows;
  sequences: ReadonlyMap<string, number[][]>;
  /**
   * The `count` customers nearest to `query` (indices, nearest first; ties by index), leaving out
   * `self` (the asking customer's own training vector).
   */
  nearest(query: SparseVector, self: number, count: number, distance: TifuDistance): Int32Array;
  /** `nearest` for a customer's training vector, remembered: tuning asks for it many times. */
  nearestOf(customer: number, count: number, distance: TifuDistance): Int32Array;
}

/** The training window's catalogue and each customer's baskets as product indices: shared by every setting. */
export interface TifuHistories {
  catalogue: ItemCatalogue;
  sequences: ReadonlyMap<string, number[][]>;
}

export function tifuHistories(train: readonly Basket[]): TifuHistories {
  const catalogue = itemCatalogue(train);
  return {
    catalogue,
    sequences: new Map([...basketSequences(train)].map(([customer, baskets]) => [customer, baskets.map((b) => toIndices(b, catalogue))])),
  };
}

export function buildTifuVectors({ catalogue, sequences }: TifuHistories, settings: TifuVectorSettings): TifuVectors {
  const customers = [...sequences.keys()].sort();
  const vectors = customers.map((customer) => tifuUserVector(sequences.get(customer)!, settings));

  // Postings: per product, the customers holding it and their weight for it.
  const postingCounts = new Int32Array(catalogue.names.length);
  for (const v of vectors) for (const i of v.indices) postingCounts[i]!++;
  const postingUsers = [...postingCounts].map((count) => new Int32Array(count));
  const postingValues = [...postingCounts].map((count) => new Float64Array(count));
  const filled = new Int32Array(catalogue.names.length);
  vectors.forEach((v, user) => {
    v.indices.forEach((item, j) => {
      postingUsers[item]![filled[item]!] = user;
      postingValues[item]![filled[item]!++] = v.values[j]!;
    });
  });

  const dots = new Float64Array(customers.length);
  const keys = new Float64Array(customers.length);
  const nearest = (query: SparseVector, self: number, count: number, distance: TifuDistance): Int32Array => {
    dots.fill(0);
    query.indices.forEach((item, j) => {
      const weight = query.values[j]!;
      const users = postingUsers[item]!;
      const values = postingValues[item]!;
      for (let p = 0; p < users.length; p++) dots[users[p]!]! += weight * values[p]!;
    });
    // Smaller key = nearer: the squared Euclidean distance, or minus the cosine.
    for (let u = 0; u < customers.length; u++) {
      const norm2 = vectors[u]!.norm2;
      keys[u] =
        distance === 'euclidean'
          ? query.norm2 + norm2 - 2 * dots[u]!
          : query.norm2 > 0 && norm2 > 0
            ? -dots[u]! / Math.sqrt(query.norm2 * norm2)
            : 0;
    }
    if (self >= 0) keys[self] = Infinity;
    const wanted = Math.min(count, customers.length - (self >= 0 ? 1 : 0));
    if (wanted <= 0) return new Int32Array(0);
    // The k-th smallest key from a native sort, then the customers up to it in index order.
    const threshold = keys.slice().sort()[wanted - 1]!;
    const picked: number[] = [];
    for (let u = 0; u < customers.length; u++) if (keys[u]! < threshold) picked.push(u);
    for (let u = 0; u < customers.length && picked.length < wanted; u++) if (keys[u] === threshold) picked.push(u);
    picked.sort((a, b) => keys[a]! - keys[b]! || a - b);
    return Int32Array.from(picked);
  };

  const remembered = new Map<string, Int32Array>();
  return {
    settings,
    catalogue,
    customers,
    vectors,
    packed: packRows(vectors),
    sequences,
    nearest,
    nearestOf(customer, count, distance) {
      const key = `${distance}:${customer}`;
      let list = remembered.get(key);
      if (list === undefined || list.length < count) {
        list = nearest(vectors[customer]!, customer, count, distance);
        remembered.set(key, list);
      }
      return list.subarray(0, Math.min(count, list.length));
    },
  };
}

/** TIFU-KNN answering with one (k, α, distance) over vectors built once. */
export function tifuKnnRecommender(
  vectors: TifuVectors,
  settings: Pick<TifuKnnSettings, 'neighbours' | 'ownWeight' | 'distance'>,
): NextBasketRecommender {
  const indexOf = new Map(vectors.customers.map((customer, i) => [customer, i]));
  const scores = new Float64Array(vectors.catalogue.names.length);
  return {
    recommend(customerId, k, latestBasket) {
      const self = indexOf.get(customerId) ?? -1;
      const history = vectors.sequences.get(customerId) ?? [];
      const folded = latestBasket !== undefined && latestBasket.length > 0;
      const own = folded
        ? tifuUserVector([...history, toIndices(latestBasket, vectors.catalogue)], vectors.settings)
        : self >= 0
          ? vectors.vectors[self]!
          : tifuUserVector([], vectors.settings);
      const neighbours =
        folded || self < 0
          ? vectors.nearest(own, self, settings.neighbours, settings.distance)
          : vectors.nearestOf(self, settings.neighbours, settings.distance);
      scores.fill(0);
      own.indices.forEach((item, j) => (scores[item]! += settings.ownWeight * own.values[j]!));
      if (neighbours.length > 0) {
        const share = (1 - settings.ownWeight) / neighbours.length;
        for (const neighbour of neighbours) addRow(scores, vectors.packed, neighbour, share);
      }
      return topByScore(scores, vectors.catalogue, k);
    },
  };
}

export function tifuKnnBaseline(train: readonly Basket[], settings: TifuKnnSettings): NextBasketRecommender {
  return tifuKnnRecommender(buildTifuVectors(tifuHistories(train), settings), settings);
}
