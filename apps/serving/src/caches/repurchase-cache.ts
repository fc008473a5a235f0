import type { RepurchaseEvidence, RepurchaseStats } from '@lambdarec/domain';
import type { BatchViewReader } from '@lambdarec/stores';
import { LruMap } from './lru-map.js';

export interface RepurchaseCache {
  /** What the run learned about re-buying each product (its own figures and its category's). */
  evidence(
    runId: string,
    products: ReadonlyArray<{ productId: string; category: string | null }>,
  ): Promise<Map<string, RepurchaseEvidence>>;
}

/** A run's re-buy figures never change: cache them per (run, product) and (run, category). */
export function createRepurchaseCache({
  batchView,
  maxEntries = 50_000,
}: {
  batchView: BatchViewReader;
  maxEntries?: number;
}): RepurchaseCache {
  const cache = new LruMap<string, RepurchaseStats | null>(maxEntries);
  const keyOf = (runId: string, scope: string, key: string) => `${runId}\u0000${scope}\u0000${key}`;
  return {
    async evidence(runId, products) {
      const missingProducts = new Set<string>();
      const missingCategories = new Set<string>();
      for (const { productId, category } of products) {
        if (cache.get(keyOf(runId, 'product', productId)) === undefined) missingProducts.add(productId);
        if (category !== null && cache.get(keyOf(runId, 'category', category)) === undefined) missingCategories.add(category);
      }
      if (missingProducts.size > 0 || missingCategories.size > 0) {
        const facts = await batchView.repurchase(runId, [...missingProducts], [...missingCategories]);
        for (const productId of missingProducts) cache.set(keyOf(runId, 'product', productId), facts.products.get(productId) ?? null);
        for (const category of missingCategories) cache.set(keyOf(runId, 'category', category), facts.categories.get(category) ?? null);
      }
      const evidence = new Map<string, RepurchaseEvidence>();
      for (const { productId, category } of products) {
        evidence.set(productId, {
          product: cache.get(keyOf(runId, 'product', productId)) ?? undefined,
          category: category === null ? undefined : (cache.get(keyOf(runId, 'category', category)) ?? undefined),
        });
      }
      return evidence;
    },
  };
}
