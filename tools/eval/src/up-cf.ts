/**
 * UP-CF@r, from Faggioli, Polato and Aiolli, "Recency Aware Collaborative Filtering for Next
 * Basket Recommendation" (UMAP 2020), written from the paper's description.
 *
 * Recency-aware user-wise popularity: with B_u^r the customer's last min(r, |B_u|) baskets,
 *
 *   π_u^r(i) = |{b ∈ B_u^r : i ∈ b}| / min(r, |B_u|)
 *
 * User-based collaborative filtering over those popularities, with Aiolli's asymmetric cosine
 * between the sets of products two customers bought, and the locality exponent q:
 *
 *   S(u, v) = |I_u ∩ I_v| / (|I_u|^α · |I_v|^(1−α))
 *   score_u(i) = Σ_v S(u, v)^q · π_v^r(i)
 *
 * The sum runs over every customer, the asker included: S(u, u) = 1, so the customer's own
 * recency-aware popularity is blended with their neighbours', and a large q keeps only the
 * closest neighbours' say.
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

export interface UpcfSettings {
  /** r: the last r baskets count (Infinity: all of them). */
  recency: number;
  /** α of the asymmetric cosine (0.5: the plain cosine). */
  asymmetry: number;
  /** q: similarities are raised to this power. */
  locality: number;
}

/** π_u^r from baskets of product indices, oldest first. */
export function recencyPopularity(baskets: ReadonlyArray<readonly number[]>, recency: number): SparseVector {
  const window = Math.min(recency, baskets.length);
  const counts = new Map<number, number>();
  for (const basket of baskets.slice(baskets.length - window))
    for (const item of new Set(basket)) counts.set(item, (counts.get(item) ?? 0) + 1);
  const entries = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  const values = Float64Array.from(entries, ([, count]) => count / window);
  return { indices: Int32Array.from(entries, ([item]) => item), values, norm2: values.reduce((sum, v) => sum + v * v, 0) };
}

/** What every UP-CF@r setting shares: the baskets, the bought sets and who bought what. */
export interface UpcfIndex {
  catalogue: ItemCatalogue;
  customers: readonly string[];
  sequences: ReadonlyMap<string, number[][]>;
  /** π_v^r of every customer (row = customer), for one r (built once per r). */
  popularities(recency: number): PackedRows;
  /** |I_u ∩ I_v| for every v that shares a product with the bought set, leaving out `self`. */
  overlaps(bought: ReadonlySet<number>, self: number): { users: Int32Array; shared: Int32Array };
  /** `overlaps` of a customer's training set, remembered for tuning. */
  overlapsOf(customer: number): { users: Int32Array; shared: Int32Array };
  boughtSizes: Int32Array;
}

export function buildUpcfIndex(train: readonly Basket[]): UpcfIndex {
  const catalogue = itemCatalogue(train);
  const sequences = new Map(
    [...basketSequences(train)].map(([customer, baskets]) => [customer, baskets.map((b) => toIndices(b, catalogue))]),
  );
  const customers = [...sequences.keys()].sort();
  const bought = customers.map((customer) => new Set(sequences.get(customer)!.flat()));
  const boughtSizes = Int32Array.from(bought, (set) => set.size);
  const buyers: number[][] = catalogue.names.map(() => []);
  bought.forEach((set, user) => {
    for (const item of set) buyers[item]!.push(user);
  });

  const counts = new Int32Array(customers.length);
  const overlaps = (set: ReadonlySet<number>, self: number) => {
    const touched: number[] = [];
    for (const item of set) {
      for (const user of buyers[item] ?? []) {
        if (counts[user] === 0) touched.push(user);
        counts[user]!++;
      }
    }
    const others = touched.filter((user) => user !== self).sort((a, b) => a - b);
    const result = { users: Int32Array.from(others), shared: Int32Array.from(others, (user) => counts[user]!) };
    for (const user of touched) counts[user] = 0;
    return result;
  };

  const byRecency = new Map<number, PackedRows>();
  const remembered = new Map<number, { users: Int32Array; shared: Int32Array }>();
  return {
    catalogue,
    customers,
    sequences,
    boughtSizes,
    popularities(recency) {
      let packed = byRecency.get(recency);
      if (packed === undefined) {
        packed = packRows(customers.map((customer) => recencyPopularity(sequences.get(customer)!, recency)));
        byRecency.set(recency, packed);
      }
      return packed;
    },
    overlaps,
    overlapsOf(customer) {
      let found = remembered.get(customer);
      if (found === undefined) remembered.set(customer, (found = overlaps(bought[customer]!, customer)));
      return found;
    },
  };
}

export function upcfRecommender(index: UpcfIndex, settings: UpcfSettings): NextBasketRecommender {
  const indexOf = new Map(index.customers.map((customer, i) => [customer, i]));
  const popularities = index.popularities(settings.recency);
  const scores = new Float64Array(index.catalogue.names.length);
  const neighbourNorms = Float64Array.from(index.boughtSizes, (size) => size ** (1 - settings.asymmetry));
  return {
    recommend(customerId, k, latestBasket) {
      const self = indexOf.get(customerId) ?? -1;
      const folded = latestBasket !== undefined && latestBasket.length > 0;
      const baskets = [...(index.sequences.get(customerId) ?? [])];
      if (folded) baskets.push(toIndices(latestBasket, index.catalogue));
      const boughtSet = new Set(baskets.flat());
      const { users, shared } = folded || self < 0 ? index.overlaps(boughtSet, self) : index.overlapsOf(self);
      scores.fill(0);
      // S(u, u)^q = 1: the customer's own popularity at full weight.
      if (folded || self < 0) {
        const own = recencyPopularity(baskets, settings.recency);
        own.indices.forEach((item, j) => (scores[item]! += own.values[j]!));
      } else addRow(scores, popularities, self, 1);
      // S(u, v)^q with |I_v|^(1−α) computed once per setting and |I_u|^α once per ask.
      const askerNorm = boughtSet.size ** settings.asymmetry;
      for (let n = 0; n < users.length; n++) {
        const v = users[n]!;
        addRow(scores, popularities, v, (shared[n]! / (askerNorm * neighbourNorms[v]!)) ** settings.locality);
      }
      return topByScore(scores, index.catalogue, k);
    },
  };
}

export function upcfBaseline(train: readonly Basket[], settings: UpcfSettings): NextBasketRecommender {
  return upcfRecommender(buildUpcfIndex(train), settings);
}
