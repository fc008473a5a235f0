/**
 * Beyond accuracy: what the top-10 lists of one method look like over all cases of a protocol,
 * judged against the training window (what the method could have known).
 */

export interface BeyondAccuracy {
  /** Distinct products recommended in any top-k / products in the training window's catalogue. */
  coverage: number;
  /** Share of recommended products that are among the training window's most popular 5 %. */
  popularShare: number;
  /** Mean over lists of the share of pairs in a top-k whose categories differ. */
  diversity: number;
  /** Mean over lists of the mean −log2 of a product's share of training baskets. */
  novelty: number;
}

/** The share of the catalogue (by training baskets) that the tables count as popular. */
export const POPULAR_FRACTION = 0.05;

export interface BeyondAccuracyContext {
  /** Training baskets holding each product: the catalogue is its keys. */
  basketsHolding: ReadonlyMap<string, number>;
  trainBaskets: number;
  categoryOf: (productId: string) => string | null;
  /** @defaultValue 10 */
  k?: number;
  /** The share of the catalogue that counts as popular. @defaultValue 0.05 */
  popularFraction?: number;
}

/** The ⌈fraction · catalogue⌉ products held by the most training baskets (ties by id). */
export function mostPopular(basketsHolding: ReadonlyMap<string, number>, fraction: number): Set<string> {
  const ranked = [...basketsHolding.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return new Set(ranked.slice(0, Math.ceil(fraction * ranked.length)).map(([item]) => item));
}

/**
 * Share of pairs with different categories in one list. A product without a category says
 * nothing about diversity, so its pairs are left out; undefined when no pair is left.
 */
export function intraListDiversity(list: readonly string[], categoryOf: (productId: string) => string | null): number | undefined {
  const categories = list.map(categoryOf).filter((c): c is string => c !== null);
  let pairs = 0;
  let different = 0;
  for (let i = 0; i < categories.length; i++) {
    for (let j = i + 1; j < categories.length; j++) {
      pairs++;
      if (categories[i] !== categories[j]) different++;
    }
  }
  return pairs === 0 ? undefined : different / pairs;
}

/**
 * Mean self-information of a list's products, −log2(share of training baskets holding it). A
 * product the training window never saw counts as held by one basket (the most novel possible).
 */
export function listNovelty(
  list: readonly string[],
  basketsHolding: ReadonlyMap<string, number>,
  trainBaskets: number,
): number | undefined {
  if (list.length === 0) return undefined;
  let sum = 0;
  for (const item of list) sum += -Math.log2(Math.max(1, basketsHolding.get(item) ?? 0) / trainBaskets);
  return sum / list.length;
}

export interface BeyondAccuracyAccumulator {
  add(ranked: readonly string[]): void;
  result(): BeyondAccuracy;
}

export function createBeyondAccuracy(context: BeyondAccuracyContext): BeyondAccuracyAccumulator {
  const k = context.k ?? 10;
  const popular = mostPopular(context.basketsHolding, context.popularFraction ?? POPULAR_FRACTION);
  const recommended = new Set<string>();
  let items = 0;
  let popularItems = 0;
  const diversity = { sum: 0, lists: 0 };
  const novelty = { sum: 0, lists: 0 };
  return {
    add(ranked) {
      const list = [...new Set(ranked.slice(0, k))];
      for (const item of list) {
        recommended.add(item);
        items++;
        if (popular.has(item)) popularItems++;
      }
      const ild = intraListDiversity(list, context.categoryOf);
      if (ild !== undefined) {
        diversity.sum += ild;
        diversity.lists++;
      }
      const nov = listNovelty(list, context.basketsHolding, context.trainBaskets);
      if (nov !== undefined) {
        novelty.sum += nov;
        novelty.lists++;
      }
    },
    result() {
      const catalogue = Math.max(1, context.basketsHolding.size);
      return {
        coverage: [...recommended].filter((item) => context.basketsHolding.has(item)).length / catalogue,
        popularShare: items === 0 ? 0 : popularItems / items,
        diversity: diversity.lists === 0 ? 0 : diversity.sum / diversity.lists,
        novelty: novelty.lists === 0 ? 0 : novelty.sum / novelty.lists,
      };
    },
  };
}
