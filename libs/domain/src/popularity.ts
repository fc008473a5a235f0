import type { BatchPolicy } from './batch-policy.js';
import { byName } from './order.js';
import type { ProductFacts } from './product-facts.js';
import type { ScoredItem } from './scored-item.js';

const byScore = (a: ScoredItem, b: ScoredItem) => b.score - a.score || byName(a.productId, b.productId);

/** The most popular products, best first. */
export function topPopular(facts: Iterable<ProductFacts>, policy: BatchPolicy): ScoredItem[] {
  return [...facts]
    .map(({ productId, popularity, category }) => ({ productId, score: popularity, category, reasons: ['popular'] }))
    .sort(byScore)
    .slice(0, policy.popularSize);
}

/**
 * The most popular products of each category, best first: what a shopper new to the shop sees
 * when they browse a category, or ask for one, instead of the shop-wide best-sellers that the
 * category filter would mostly throw away.
 */
export function topPopularByCategory(facts: Iterable<ProductFacts>, policy: BatchPolicy): Map<string, ScoredItem[]> {
  const byCategory = new Map<string, ScoredItem[]>();
  for (const { productId, popularity, category } of facts) {
    if (category === null) continue;
    let list = byCategory.get(category);
    if (list === undefined) byCategory.set(category, (list = []));
    list.push({ productId, score: popularity, category, reasons: ['popular'] });
  }
  for (const [category, list] of byCategory) byCategory.set(category, list.sort(byScore).slice(0, policy.popularPerCategory));
  return byCategory;
}
