import type { ProductFacts } from './product-facts.js';
import type { RepurchaseStats } from './repurchase.js';

export interface RepurchaseTable {
  products: Map<string, RepurchaseStats>;
  categories: Map<string, RepurchaseStats>;
}

/** Re-buying per product (products someone bought) and summed per category. */
export function repurchaseTable(facts: Iterable<ProductFacts>): RepurchaseTable {
  const products = new Map<string, RepurchaseStats>();
  const categories = new Map<string, RepurchaseStats>();
  for (const { productId, category, buyers, rebuyers } of facts) {
    if (buyers === 0) continue;
    products.set(productId, { buyers, rebuyers });
    if (category === null) continue;
    const total = categories.get(category) ?? { buyers: 0, rebuyers: 0 };
    total.buyers += buyers;
    total.rebuyers += rebuyers;
    categories.set(category, total);
  }
  return { products, categories };
}
