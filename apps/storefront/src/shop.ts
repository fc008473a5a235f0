import type { Logger } from '@lambdarec/clients';
import type { RecommendedItem } from '@lambdarec/contracts';
import type { CatalogListing, ListedProduct } from '@lambdarec/stores';
import { explainReasons, productsNamedIn } from './reasons.js';
import type { ServingClient } from './serving-client.js';

/** A recommended product as the page shows it: catalog facts, and serving's reasons in plain words. */
export interface ShownItem {
  product: ListedProduct;
  score: number;
  reasons: string[];
}

export interface ShownList {
  items: ShownItem[];
  /** Parts of serving's answer that were missing (`session`, `batch`), or `serving` when it did not answer. */
  degraded: string[];
  /** The answer's id and user, for the page's impression and clicks; absent for similar items and from an older serving. */
  recommendationId?: string | undefined;
  userId?: string | undefined;
}

export interface Shop {
  recommendedFor(shopper: string, options?: { exclude?: readonly string[] }): Promise<ShownList>;
  similarTo(productId: string): Promise<ShownList>;
}

export interface ShopOptions {
  catalog: CatalogListing;
  serving: ServingClient;
  log: Logger;
  /** @defaultValue 8 */
  recommendationsShown?: number;
  /** @defaultValue 6 */
  similarShown?: number;
}

/** What the shop takes from either of serving's answers. */
interface ServedList {
  items: RecommendedItem[];
  degraded?: string[] | undefined;
  recommendationId?: string | undefined;
  userId?: string | undefined;
}

/** A product serving named that the catalog does not know (docs/design.md: it counts as in stock). */
const unlisted = (item: RecommendedItem): ListedProduct => ({
  productId: item.productId,
  category: item.category,
  title: null,
  price: null,
  inStock: true,
});

/** Recommendations and similar items from serving, dressed with the catalog for a shopper to read. */
export function createShop({ catalog, serving, log, recommendationsShown = 8, similarShown = 6 }: ShopOptions): Shop {
  async function dress(items: readonly RecommendedItem[]): Promise<ShownItem[]> {
    const named = await catalog.byIds([...new Set(items.flatMap((item) => [item.productId, ...productsNamedIn(item.reasons)]))]);
    const nameOf = (productId: string) => named.get(productId)?.title ?? productId;
    return items.map((item) => ({
      product: named.get(item.productId) ?? unlisted(item),
      score: item.score,
      reasons: explainReasons(item.reasons, nameOf),
    }));
  }

  /** Serving down or slow is a page without that panel's items, logged, not a failed page. */
  async function fromServing(what: string, ask: () => Promise<ServedList>): Promise<ShownList> {
    let answer: ServedList;
    try {
      answer = await ask();
    } catch (err) {
      log.warn({ err, what }, 'serving did not answer; the page shows no recommendations');
      return { items: [], degraded: ['serving'] };
    }
    const shown: ShownList = { items: await dress(answer.items), degraded: answer.degraded ?? [] };
    if (answer.recommendationId !== undefined) Object.assign(shown, { recommendationId: answer.recommendationId, userId: answer.userId });
    return shown;
  }

  return {
    recommendedFor: (shopper, { exclude = [] } = {}) =>
      fromServing('recommendations', () => serving.recommendations(shopper, { limit: recommendationsShown, exclude })),
    similarTo: (productId) => fromServing('similar items', () => serving.similar(productId, similarShown)),
  };
}
