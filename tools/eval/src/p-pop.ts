/**
 * P-Pop, "personal top frequency" (the baseline of Li et al., "A Next Basket Recommendation
 * Reality Check", TOIS 2023): the customer's own products by how many of their baskets hold them,
 * then global popularity to fill the list.
 */
import { basketSequences, itemCatalogue, type NextBasketRecommender } from './basket-history.js';
import type { Basket } from './split.js';

export function personalPopularityBaseline(train: readonly Basket[]): NextBasketRecommender {
  const sequences = basketSequences(train);
  const catalogue = itemCatalogue(train);
  return {
    recommend(customerId, k, latestBasket) {
      const baskets = [...(sequences.get(customerId) ?? [])];
      if (latestBasket !== undefined && latestBasket.length > 0) baskets.push([...new Set(latestBasket)]);
      const own = new Map<string, { count: number; lastBasket: number }>();
      baskets.forEach((items, position) => {
        for (const item of items) {
          const entry = own.get(item);
          if (entry === undefined) own.set(item, { count: 1, lastBasket: position });
          else {
            entry.count++;
            entry.lastBasket = position;
          }
        }
      });
      // Ties in frequency go to the product bought most recently, then to the id (deterministic).
      const list = [...own.entries()]
        .sort((a, b) => b[1].count - a[1].count || b[1].lastBasket - a[1].lastBasket || a[0].localeCompare(b[0]))
        .slice(0, k)
        .map(([item]) => item);
      const listed = new Set(list);
      for (const index of catalogue.byPopularity) {
        if (list.length >= k) break;
        const item = catalogue.names[index]!;
        if (!listed.has(item)) list.push(item);
      }
      return list;
    },
  };
}
