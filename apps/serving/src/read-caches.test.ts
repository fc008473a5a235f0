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
    const first = await cache.facts(['a', 'unknown', 'a']);
    expect(first.get('a')).toEqual({ category: 'x', inStock: true });
    expect(first.has('unknown')).toBe(false);
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

  it('never answers a fact older than the TTL, even one read late in its generation', async () => {
    const { catalog, rows, queries } = countingCatalog({ a: { category: 'x', inStock: true }, b: { category: 'x', inStock: true } });
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, now: () => now });
    await cache.facts(['a']);
    now = 900;
    await cache.facts(['b']); // read at 900, in the generation that began at 0
    rows.set('b', { category: 'x', inStock: false });
    now = 1001;
    expect((await cache.facts(['b'])).get('b')?.inStock).toBe(false);
    expect(queries).toEqual([['a'], ['b'], ['b']]);
  });

  it('keeps at most maxEntries products: a full generation ends and the next starts empty', async () => {
    const { catalog, queries } = countingCatalog({ a: { category: 'x', inStock: true }, b: { category: 'y', inStock: true }, c: { category: 'z', inStock: true } });
    const cache = createCatalogFactsCache({ catalog, ttlMs: 60_000, maxEntries: 2, now: () => 0 });
    await cache.facts(['a', 'b']);
    const third = await cache.facts(['a', 'c']); // would make three: answered, and the generation ends
    expect(third.get('a')?.category).toBe('x');
    expect(third.get('c')?.category).toBe('z');
    expect((await cache.facts(['a', 'b'])).size).toBeLessThanOrEqual(2);
    expect(queries).toEqual([['a', 'b'], ['c'], ['a', 'b']]);
  });

  it('a request whose read overlaps a new generation still gets every fact it asked for', async () => {
    const { catalog } = countingCatalog({ a: { category: 'x', inStock: true }, b: { category: 'y', inStock: true } });
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, now: () => now });
    await cache.facts(['a']);
    const slow = cache.facts(['a', 'b']); // a from memory, b being read
    now = 2000;
    await cache.facts(['b']); // a new generation begins meanwhile
    const answer = await slow;
    expect(answer.get('a')?.category).toBe('x');
    expect(answer.get('b')?.category).toBe('y');
  });
});
