import { describe, expect, it } from 'vitest';
import { seededRandom } from './seeded-random.js';
import { createShopperPopulation, examineProbability, type Shopper, type ShopperCatalogProduct } from './simulated-shopper.js';

const CATEGORIES = ['tea', 'coffee', 'baking', 'garden', 'toys', 'candles'];
const catalog: ShopperCatalogProduct[] = CATEGORIES.flatMap((category) =>
  Array.from({ length: 12 }, (_, i) => ({ productId: `${category}-${i + 1}`, category })),
);
const population = (overrides: Partial<Parameters<typeof createShopperPopulation>[0]> = {}) =>
  createShopperPopulation({ catalog, seed: 11, size: 400, ...overrides });
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
/** The shopper's ten most relevant products, best first: the list of a perfect recommender. */
const bestFor = (shopper: Shopper) => [...catalog].sort((a, b) => shopper.relevance(b) - shopper.relevance(a)).slice(0, 10);

describe('a simulated shopper population', () => {
  it('is the same for the same seed, and another for another seed', () => {
    const describe = (seed: number) =>
      population({ seed }).shoppers.map((s) => [s.id, s.favouriteCategories, s.ownedProducts, s.keenness, s.relevance(catalog[5]!)]);
    expect(describe(11)).toEqual(describe(11));
    expect(describe(12)).not.toEqual(describe(11));
  });

  it('names its shoppers by a prefix and a number, and finds them by id', () => {
    const { shoppers, byId } = population({ size: 3, idPrefix: 'sim-' });
    expect(shoppers.map((s) => s.id)).toEqual(['sim-1', 'sim-2', 'sim-3']);
    expect(byId.get('sim-2')).toBe(shoppers[1]);
  });

  it('gives each shopper one or two distinct favourite categories, owned products in them, and a keenness of mean 1', () => {
    const { shoppers } = population();
    for (const shopper of shoppers) {
      expect(shopper.favouriteCategories.length).toBeGreaterThanOrEqual(1);
      expect(new Set(shopper.favouriteCategories).size).toBe(shopper.favouriteCategories.length);
      for (const owned of shopper.ownedProducts) expect(shopper.favouriteCategories).toContain(owned.split('-')[0]);
    }
    const seconds = shoppers.filter((s) => s.favouriteCategories.length === 2).length / shoppers.length;
    expect(seconds).toBeGreaterThan(0.35);
    expect(seconds).toBeLessThan(0.65);
    expect(mean(shoppers.map((s) => s.keenness))).toBeGreaterThan(0.85);
    expect(mean(shoppers.map((s) => s.keenness))).toBeLessThan(1.15);
  });

  it('makes some categories more loved than others', () => {
    const favourites = new Map<string, number>();
    for (const shopper of population({ size: 2000 }).shoppers) {
      const favourite = shopper.favouriteCategories[0]!;
      favourites.set(favourite, (favourites.get(favourite) ?? 0) + 1);
    }
    const counts = [...favourites.values()].sort((a, b) => b - a);
    expect(counts[0]!).toBeGreaterThan(1.5 * counts[counts.length - 1]!);
  });
});

describe('relevance', () => {
  it('is in [0, 1], and highest in the favourite category, then the second, then the rest', () => {
    // Without products that go together, the categories alone.
    const { shoppers } = population({ goTogether: [] });
    const byFit = { favourite: [] as number[], second: [] as number[], other: [] as number[] };
    for (const shopper of shoppers) {
      for (const product of catalog) {
        const relevance = shopper.relevance(product);
        if (!(relevance >= 0 && relevance <= 1)) expect.fail(`relevance ${relevance} of ${product.productId} for ${shopper.id}`);
        const fit =
          product.category === shopper.favouriteCategories[0]
            ? 'favourite'
            : product.category === shopper.favouriteCategories[1]
              ? 'second'
              : 'other';
        byFit[fit].push(relevance);
      }
    }
    expect(mean(byFit.favourite)).toBeGreaterThan(mean(byFit.second));
    expect(mean(byFit.second)).toBeGreaterThan(2 * mean(byFit.other));
  });

  it('is pulled up, in any category, by going together with a product the shopper owns', () => {
    const goTogether: [string, string][] = [['tea-1', 'candles-1']];
    const { shoppers } = population({ goTogether });
    const owners = shoppers.filter((s) => s.ownedProducts.includes('tea-1') && !s.favouriteCategories.includes('candles'));
    const others = shoppers.filter((s) => !s.ownedProducts.includes('tea-1') && !s.favouriteCategories.includes('candles'));
    expect(owners.length).toBeGreaterThan(0);
    for (const owner of owners) expect(owner.relevance({ productId: 'candles-1' })).toBeGreaterThanOrEqual(0.5);
    expect(mean(others.map((s) => s.relevance({ productId: 'candles-1' })))).toBeLessThan(0.2);
  });

  it('draws products that go together from the seed when none are given, across categories', () => {
    const { goTogether } = population();
    expect(goTogether.length).toBeGreaterThan(catalog.length / 4);
    for (const [a, b] of goTogether) expect(a.split('-')[0]).not.toBe(b.split('-')[0]);
  });

  it('judges a product the catalog does not know by the category it is shown with', () => {
    const shopper = population().shoppers[0]!;
    const favourite = shopper.favouriteCategories[0]!;
    const elsewhere = CATEGORIES.find((c) => !shopper.favouriteCategories.includes(c))!;
    expect(shopper.relevance({ productId: 'new-1', category: favourite })).toBeGreaterThan(
      shopper.relevance({ productId: 'new-2', category: elsewhere }),
    );
    expect(shopper.relevance({ productId: 'new-3', category: null })).toBeLessThan(0.2);
  });
});

describe('the click model', () => {
  it('examines lower positions less: 1 / (k + 1)^η', () => {
    expect(examineProbability(0)).toBe(1);
    expect(examineProbability(1)).toBe(0.5);
    expect(examineProbability(3, 2)).toBe(1 / 16);
    const shopper = population({ positionBias: 1 }).shoppers[0]!;
    const item = catalog[0]!;
    for (let k = 1; k < 10; k++) expect(shopper.clickProbability(item, k)).toBeLessThan(shopper.clickProbability(item, k - 1));
  });

  it('clicks, carts and buys as often as its true expectation says, and only what it clicked and carted', () => {
    const { shoppers } = population({ size: 50 });
    const random = seededRandom(5);
    let clicks = 0;
    let expected = 0;
    for (let round = 0; round < 400; round++) {
      for (const shopper of shoppers) {
        const list = bestFor(shopper);
        const reaction = shopper.react(list, random);
        const carted = new Set(reaction.carts);
        if (!reaction.carts.every((p) => reaction.clicks.includes(p)) || !reaction.purchases.every((p) => carted.has(p))) {
          expect.fail(`a cart without its click or a purchase without its cart: ${JSON.stringify(reaction)}`);
        }
        clicks += reaction.clicks.length;
        expected += shopper.expectedClicks(list);
      }
    }
    // 20 000 lists, several thousand clicks: the observed count within 3 % of the truth.
    expect(Math.abs(clicks / expected - 1)).toBeLessThan(0.03);
  });

  it('gives a list ordered by the shopper\u2019s relevance a higher true CTR than the shop-wide best-sellers, and the best-sellers more than a random list', () => {
    const { shoppers } = population();
    const popularity = new Map(catalog.map((p) => [p.productId, mean(shoppers.map((s) => s.relevance(p)))]));
    const bestSellers = [...catalog].sort((a, b) => popularity.get(b.productId)! - popularity.get(a.productId)!).slice(0, 10);
    const random = seededRandom(3);
    const randomList = () => [...catalog].sort(() => random() - 0.5).slice(0, 10);
    const personal = mean(shoppers.map((s) => s.expectedCtr(bestFor(s))));
    const popular = mean(shoppers.map((s) => s.expectedCtr(bestSellers)));
    const anything = mean(shoppers.map((s) => s.expectedCtr(randomList())));
    expect(personal).toBeGreaterThan(1.5 * popular);
    expect(popular).toBeGreaterThan(anything);
    // A shop's recommendation CTR: a few per cent, not tens of per cent.
    expect(popular).toBeGreaterThan(0.005);
    expect(personal).toBeLessThan(0.2);
  });

  it('gives an empty list a CTR of 0 and no reaction', () => {
    const shopper = population().shoppers[0]!;
    expect(shopper.expectedCtr([])).toBe(0);
    expect(shopper.react([], seededRandom(1))).toEqual({ clicks: [], carts: [], purchases: [] });
  });

  it('needs a catalog', () => {
    expect(() => createShopperPopulation({ catalog: [], seed: 1, size: 1 })).toThrow(RangeError);
  });
});
