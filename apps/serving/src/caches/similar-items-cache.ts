import type { Candidate } from '@lambdarec/domain';
import type { BatchViewReader } from '@lambdarec/stores';
import { LruMap } from './lru-map.js';

export interface SimilarItemsCache {
  similarItems(runId: string, productIds: readonly string[]): Promise<Map<string, Candidate[]>>;
}

/** A run's similar-item lists never change, and many users share them: cache per (run, product). */
export function createSimilarItemsCache({
  batchView,
  maxEntries = 50_000,
}: {
  batchView: BatchViewReader;
  maxEntries?: number;
}): SimilarItemsCache {
  const cache = new LruMap<string, Candidate[]>(maxEntries);
  return {
    async similarItems(runId, productIds) {
      const result = new Map<string, Candidate[]>();
      const missing: string[] = [];
      for (const productId of productIds) {
        const hit = cache.get(`${runId}\u0000${productId}`);
        if (hit === undefined) missing.push(productId);
        else if (hit.length > 0) result.set(productId, hit);
      }
      if (missing.length > 0) {
        const fetched = await batchView.similarItems(runId, missing);
        for (const productId of missing) {
          const items = fetched.get(productId) ?? [];
          cache.set(`${runId}\u0000${productId}`, items);
          if (items.length > 0) result.set(productId, items);
        }
      }
      return result;
    },
  };
}
