import type { CatalogFacts } from '@lambdarec/domain';
import type { CatalogRepository } from '@lambdarec/stores';
import { describe, expect, it } from 'vitest';
import { createCatalogFactsCache } from './read-caches.js';

/** An in-memory catalog that records which products each query asked for. */
function countingCatalog(initial: Record<string, CatalogFacts>) {
  const rows = new Map(Object.entries(initial));
  const queries: string[][] = [];
  const catalog: CatalogRepository = {
    upsert: async () => 0,
    count: async () => rows.size,
    facts: async (ids) => {
      queries.push([...ids]);
      return new Map(ids.flatMap((id) => (rows.has(id) ? [[id, rows.get(id)!] as const] : [])));
    },
  };
  return { catalog, rows, queries };
}

describe('catalog facts cache', () => {
  it('asks the catalog once for all misses and then answers from memory within the TTL', async () => {
    const { catalog, queries } = countingCatalog({ a: { category: 'x', inStock: true } });
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, now: () => now });
    expect(await cache.facts(['a', 'unknown'])).toEqual(new Map([['a', { category: 'x', inStock: true }]]));
    now = 999;
    expect((await cache.facts(['a', 'unknown'])).get('a')?.inStock).toBe(true);
    expect(queries).toEqual([['a', 'unknown']]);
  });

  it('refetches after the TTL, so a sold-out product is seen as such', async () => {
    const { catalog, rows, queries } = countingCatalog({ a: { category: 'x', inStock: true } });
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, now: () => now });
    await cache.facts(['a']);
    rows.set('a', { category: 'x', inStock: false });
    now = 1001;
    expect((await cache.facts(['a'])).get('a')?.inStock).toBe(false);
    expect(queries).toHaveLength(2);
  });

  it('keeps at most maxEntries products, evicting the one stored longest ago', async () => {
    const { catalog, queries } = countingCatalog({});
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, maxEntries: 2, now: () => now });
    await cache.facts(['a', 'b']);
    now = 1001;
    await cache.facts(['a']); // a is stored again after its TTL: b is now the oldest
    await cache.facts(['c']); // evicts b
    await cache.facts(['a', 'b']);
    expect(queries).toEqual([['a', 'b'], ['a'], ['c'], ['b']]);
  });
});
