/**
 * Simulated shoppers whose preferences are known: a ground truth for judging recommendations
 * (does the better ranker win the experiment?) that no log of real shoppers can give.
 *
 * Each shopper has hidden preferences: a favourite category, sometimes a second, and a couple of
 * products they already own, whose companions (products that go together, the catalog's
 * co-purchase structure) they are drawn to. `relevance(shopper, product)` in [0, 1] follows from
 * those and from each product's own appeal, with a little individual taste on top.
 *
 * A shown list is clicked by the position-based click model (Craswell et al., "An experimental
 * comparison of click position-bias models", WSDM 2008): a shopper examines position k (0-based)
 * with probability 1 / (k + 1)^η and clicks an examined item with a probability that grows with its
 * relevance, scaled by how keen this shopper is to click at all. Positions are independent given the
 * list, so the expected number of clicks, the truth an experiment estimates, is a plain sum.
 *
 * Pure and seeded: the population is a function of the catalog, the seed and the size; a reaction
 * draws from the generator it is given. The catalog comes in, so that the same model drives the
 * in-process bench and `npm run simulate` against the running services.
 */
import { unitHash } from './experiment-assignment.js';
import { seededRandom } from './seeded-random.js';

/** A product as the model needs it. */
export interface ShopperCatalogProduct {
  productId: string;
  category: string;
}

/** One item of a shown list. The category is only needed for products outside the catalog. */
export interface ShownItem {
  productId: string;
  category?: string | null;
}

/** What a shopper did with a list: the 0-based positions they clicked, carted and bought. */
export interface ShopperReaction {
  clicks: number[];
  /** A subset of the clicks. */
  carts: number[];
  /** A subset of the carts. */
  purchases: number[];
}

export interface Shopper {
  readonly id: string;
  /** The hidden truth: one or two categories, the favourite first. */
  readonly favouriteCategories: readonly string[];
  /** Products the shopper already has; what goes with them appeals. */
  readonly ownedProducts: readonly string[];
  /** How readily this shopper clicks anything, mean 1 over the population. */
  readonly keenness: number;
  /** How well a product suits this shopper, in [0, 1]. */
  relevance(item: ShownItem): number;
  /** P(click) of an item shown at a 0-based position: examination × attractiveness × keenness. */
  clickProbability(item: ShownItem, position: number): number;
  /** The true expected number of clicks on this list. */
  expectedClicks(list: readonly ShownItem[]): number;
  /** The true expected CTR of this list (expected clicks per item shown; 0 for an empty list). */
  expectedCtr(list: readonly ShownItem[]): number;
  /** One showing of the list: which positions are clicked, carted and bought, drawn from `random`. */
  react(list: readonly ShownItem[], random: () => number): ShopperReaction;
}

export interface ShopperPopulation {
  readonly shoppers: readonly Shopper[];
  readonly byId: ReadonlyMap<string, Shopper>;
  /** The products that go together (each pair once), given or drawn. */
  readonly goTogether: readonly (readonly [string, string])[];
}

export interface ShopperPopulationOptions {
  catalog: readonly ShopperCatalogProduct[];
  seed: number;
  /** Number of shoppers. */
  size: number;
  /**
   * Products bought together, as pairs. @defaultValue drawn from the seed: about half of the
   * products go with one product of another category.
   */
  goTogether?: readonly (readonly [string, string])[];
  /** η in examine(k) = 1 / (k + 1)^η. @defaultValue 1 */
  positionBias?: number;
  /** Shopper ids are the prefix and a number from 1. @defaultValue 'shopper-' */
  idPrefix?: string;
  /** σ of the logarithm of shoppers' keenness to click (mean 1). @defaultValue DEFAULT_KEENNESS_SPREAD */
  keennessSpread?: number;
}

/** Relevance weight of a product by where its category stands with the shopper. */
const CATEGORY_FIT = { favourite: 1, second: 0.6, other: 0.08 } as const;
/** How much owning a product raises the relevance of what goes with it (combined as a noisy-or). */
const COMPANION_PULL = 0.5;
/** The appeal given to a product the catalog does not know. */
const UNKNOWN_APPEAL = 0.5;
/** Spread of keenness between shoppers (σ of its logarithm): some click five times as readily as others. */
export const DEFAULT_KEENNESS_SPREAD = 0.6;

/** P(examine position k), k 0-based. */
export const examineProbability = (position: number, positionBias = 1) => 1 / (position + 1) ** positionBias;

/** P(click | examined) for a shopper of average keenness: a floor of curiosity, then the square of relevance. */
export const attractiveness = (relevance: number) => 0.01 + 0.35 * relevance * relevance;

/** P(add to cart | click) and P(purchase | cart): a relevant product is kept more often. */
export const cartProbability = (relevance: number) => 0.05 + 0.35 * relevance;
export const purchaseProbability = (relevance: number) => 0.2 + 0.5 * relevance;

function drawCompanions(catalog: readonly ShopperCatalogProduct[], random: () => number): [string, string][] {
  const pairs: [string, string][] = [];
  for (const product of catalog) {
    if (random() >= 0.5) continue;
    const others = catalog.filter((other) => other.category !== product.category);
    if (others.length === 0) continue;
    pairs.push([product.productId, others[Math.floor(random() * others.length)]!.productId]);
  }
  return pairs;
}

export function createShopperPopulation({
  catalog,
  seed,
  size,
  goTogether,
  positionBias = 1,
  idPrefix = 'shopper-',
  keennessSpread = DEFAULT_KEENNESS_SPREAD,
}: ShopperPopulationOptions): ShopperPopulation {
  if (catalog.length === 0) throw new RangeError('a shopper population needs a catalog with at least one product');
  const random = seededRandom(seed);
  const categoryOf = new Map(catalog.map((p) => [p.productId, p.category]));
  // Some products are simply better liked than others, by everyone: what best-seller lists find.
  const appeal = new Map(catalog.map((p) => [p.productId, 0.3 + 0.7 * random() ** 1.5]));
  const pairs = goTogether ?? drawCompanions(catalog, random);
  const companionsOf = new Map<string, string[]>();
  for (const [a, b] of pairs) {
    companionsOf.set(a, [...(companionsOf.get(a) ?? []), b]);
    companionsOf.set(b, [...(companionsOf.get(b) ?? []), a]);
  }
  // Categories differ in how many shoppers love them: Zipf-like weights 1 / (rank + 1)^0.7, the
  // ranks in an order drawn from the seed (Fisher–Yates).
  const categories = [...new Set(catalog.map((p) => p.category))];
  for (let i = categories.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [categories[i], categories[j]] = [categories[j]!, categories[i]!];
  }
  const pickCategory = (except?: string) => {
    const weights = categories.map((category, rank) => (category === except ? 0 : 1 / (rank + 1) ** 0.7));
    let target = random() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < weights.length; i++) if ((target -= weights[i]!) < 0) return categories[i]!;
    return categories.findLast((category) => category !== except)!;
  };
  const productsIn = new Map(categories.map((c) => [c, catalog.filter((p) => p.category === c)]));

  const shoppers: Shopper[] = [];
  for (let index = 1; index <= size; index++) {
    const favourite = pickCategory();
    const favouriteCategories = categories.length > 1 && random() < 0.5 ? [favourite, pickCategory(favourite)] : [favourite];
    const ownedProducts = [0, 1].map(() => {
      const candidates = productsIn.get(favouriteCategories[Math.floor(random() * favouriteCategories.length)]!)!;
      return candidates[Math.floor(random() * candidates.length)]!.productId;
    });
    // Log-normal with mean 1: exp(σZ − σ²/2), Z standard normal by Box–Muller.
    const normal = Math.sqrt(-2 * Math.log(Math.max(random(), Number.MIN_VALUE))) * Math.cos(2 * Math.PI * random());
    const keenness = Math.exp(keennessSpread * normal - keennessSpread ** 2 / 2);
    const drawnTo = new Set(ownedProducts.flatMap((owned) => companionsOf.get(owned) ?? []));
    shoppers.push(
      createShopper({ id: `${idPrefix}${index}`, favouriteCategories, ownedProducts, keenness, drawnTo, tasteKey: `${seed}:${index}:` }),
    );
  }

  function createShopper(hidden: {
    id: string;
    favouriteCategories: string[];
    ownedProducts: string[];
    keenness: number;
    drawnTo: ReadonlySet<string>;
    tasteKey: string;
  }): Shopper {
    const known = new Map<string, number>();
    const relevance = (item: ShownItem): number => {
      const cached = known.get(item.productId);
      if (cached !== undefined) return cached;
      const category = categoryOf.get(item.productId) ?? item.category ?? null;
      const fit =
        category === hidden.favouriteCategories[0]
          ? CATEGORY_FIT.favourite
          : category !== null && category === hidden.favouriteCategories[1]
            ? CATEGORY_FIT.second
            : CATEGORY_FIT.other;
      // Individual taste: within a category, two fans of it still like different products.
      // The shopper's individual taste for a product: the same on every call.
      const taste = 0.5 + unitHash(hidden.tasteKey + item.productId);
      const own = Math.min(1, fit * (appeal.get(item.productId) ?? UNKNOWN_APPEAL) * taste);
      const value = hidden.drawnTo.has(item.productId) ? 1 - (1 - own) * (1 - COMPANION_PULL) : own;
      known.set(item.productId, value);
      return value;
    };
    const clickProbability = (item: ShownItem, position: number) =>
      Math.min(1, examineProbability(position, positionBias) * attractiveness(relevance(item)) * hidden.keenness);
    const expectedClicks = (list: readonly ShownItem[]) => list.reduce((sum, item, position) => sum + clickProbability(item, position), 0);
    return {
      id: hidden.id,
      favouriteCategories: hidden.favouriteCategories,
      ownedProducts: hidden.ownedProducts,
      keenness: hidden.keenness,
      relevance,
      clickProbability,
      expectedClicks,
      expectedCtr: (list) => (list.length === 0 ? 0 : expectedClicks(list) / list.length),
      react(list, draw) {
        const reaction: ShopperReaction = { clicks: [], carts: [], purchases: [] };
        list.forEach((item, position) => {
          if (draw() >= clickProbability(item, position)) return;
          reaction.clicks.push(position);
          const itemRelevance = relevance(item);
          if (draw() >= cartProbability(itemRelevance)) return;
          reaction.carts.push(position);
          if (draw() < purchaseProbability(itemRelevance)) reaction.purchases.push(position);
        });
        return reaction;
      },
    };
  }

  return { shoppers, byId: new Map(shoppers.map((s) => [s.id, s])), goTogether: pairs };
}
