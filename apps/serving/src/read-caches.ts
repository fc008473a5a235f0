import type { Candidate, CatalogFacts, RepurchaseEvidence, RepurchaseStats } from '@lambdarec/domain';
import type { BatchViewRepository, CatalogRepository } from '@lambdarec/stores';

/** A Map kept in least-recently-used order, bounded in entries. */
class LruMap<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly maxEntries: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
  }
}

export interface CatalogFactsCache {
  /** Facts of the given products: cached ones younger than the TTL, the rest in one query. */
  facts(productIds: readonly string[]): Promise<Map<string, CatalogFacts>>;
}

/**
 * Catalog facts change rarely but are needed for every candidate of every answer (a few hundred
 * per request). Caching them for `ttlMs` bounds how stale stock can be (a product sold out shows up
 * for at most that long) and takes the catalog off the request path. Unknown products are cached
 * too (as unknown). Every entry is read again once its TTL has passed, so the order entries were
 * stored in is the order they go stale: evicting the oldest stored keeps the bound without the
 * delete and re-insert an LRU pays on every hit.
 */
export function createCatalogFactsCache({
  catalog,
  ttlMs,
  maxEntries = 200_000,
  now = Date.now,
}: {
  catalog: CatalogRepository;
  ttlMs: number;
  maxEntries?: number;
  now?: () => number;
}): CatalogFactsCache {
  const cache = new Map<string, { facts: CatalogFacts | null; at: number }>();
  return {
    async facts(productIds) {
      const at = now();
      const result = new Map<string, CatalogFacts>();
      const missing: string[] = [];
      for (const productId of productIds) {
        const hit = cache.get(productId);
        if (hit === undefined || at - hit.at > ttlMs) missing.push(productId);
        else if (hit.facts !== null) result.set(productId, hit.facts);
      }
      if (missing.length > 0) {
        const fetched = await catalog.facts(missing);
        for (const productId of missing) {
          const facts = fetched.get(productId) ?? null;
          cache.delete(productId);
          cache.set(productId, { facts, at });
          if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
          if (facts !== null) result.set(productId, facts);
        }
      }
      return result;
    },
  };
}

export interface UserItemsCache {
  /** The user's list in the given run (empty for a user the run has no list for). */
  userItems(runId: string, userId: string): Promise<Candidate[]>;
}

/**
 * A run's per-user lists never change, and a storefront asks for the same shoppers again and
 * again: keep the most recently asked ones in memory, at most `maxEntries` users. Each entry
 * remembers its run and only answers for that run, so rows of a run no longer published are
 * never served as the new run's; they are replaced as their users come back, or evicted.
 */
export function createUserItemsCache({ batchView, maxEntries = 20_000 }: { batchView: BatchViewRepository; maxEntries?: number }): UserItemsCache {
  const cache = new LruMap<string, { runId: string; items: Candidate[] }>(maxEntries);
  return {
    async userItems(runId, userId) {
      const hit = cache.get(userId);
      if (hit !== undefined && hit.runId === runId) return hit.items;
      const items = await batchView.userItems(runId, userId);
      cache.set(userId, { runId, items });
      return items;
    },
  };
}

export interface SimilarItemsCache {
  similarItems(runId: string, productIds: readonly string[]): Promise<Map<string, Candidate[]>>;
}

/** A run's similar-item lists never change, and many users share them: cache per (run, product). */
export function createSimilarItemsCache({ batchView, maxEntries = 50_000 }: { batchView: BatchViewRepository; maxEntries?: number }): SimilarItemsCache {
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

export interface RepurchaseCache {
  /** What the run learned about re-buying each product (its own figures and its category's). */
  evidence(runId: string, products: ReadonlyArray<{ productId: string; category: string | null }>): Promise<Map<string, RepurchaseEvidence>>;
}

/** A run's re-buy figures never change: cache them per (run, product) and (run, category). */
export function createRepurchaseCache({ batchView, maxEntries = 50_000 }: { batchView: BatchViewRepository; maxEntries?: number }): RepurchaseCache {
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
