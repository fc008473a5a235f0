import type { Candidate, CatalogFacts } from '@lambdarec/domain';
import type { CatalogRepository } from '@lambdarec/stores';
import { describe, expect, it } from 'vitest';
import { createCatalogFactsCache } from './read-caches.js';

/**
 * An in-memory stand-in for the catalog's two reads (the Postgres side of both is tested in
 * libs/stores): each row carries the time it was written on the stand-in's clock, and every query
 * is recorded. Here only the cache's own logic is under test.
 */
function countingCatalog(initial: Record<string, CatalogFacts>) {
  let clock = 1_000_000;
  const rows = new Map(Object.entries(initial).map(([id, facts]) => [id, { facts, writtenAt: 0 }]));
  const queries: string[][] = [];
  const looks: Array<number | undefined> = [];
  let failing = false;
  const catalog: CatalogRepository = {
    upsert: async () => 0,
    count: async () => rows.size,
    facts: async (ids) => {
      if (failing) throw new Error('catalog unreachable');
      queries.push([...ids]);
      return new Map(ids.flatMap((id) => (rows.has(id) ? [[id, rows.get(id)!.facts] as const] : [])));
    },
    changedSince: async (since, overlapSeconds) => {
      if (failing) throw new Error('catalog unreachable');
      looks.push(since?.getTime());
      const from = (since?.getTime() ?? clock) - overlapSeconds * 1000;
      const changes = new Map([...rows].filter(([, row]) => row.writtenAt >= from).map(([id, row]) => [id, row.facts] as const));
      return { asOf: new Date(clock), changes };
    },
  };
  return {
    catalog,
    queries,
    looks,
    /** Writes a product, stamped `ageMs` before the stand-in's clock (a late commit), and moves the clock on. */
    write(id: string, facts: CatalogFacts, ageMs = 0) {
      rows.set(id, { facts, writtenAt: clock - ageMs });
      clock += 10;
    },
    fail(value: boolean) {
      failing = value;
    },
  };
}

const candidate = (productId: string): Candidate => ({ productId, score: 1, category: 'x', reasons: ['popular'] });

describe('catalog facts cache', () => {
  it('asks the catalog once for all misses and then answers from memory within the TTL', async () => {
    const { catalog, queries, looks } = countingCatalog({ a: { category: 'x', inStock: true } });
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, now: () => now });
    const first = await cache.facts(['a', 'unknown', 'a']);
    expect(first.get('a')).toEqual({ category: 'x', inStock: true });
    expect(first.has('unknown')).toBe(false);
    now = 999;
    expect((await cache.facts(['a', 'unknown'])).get('a')?.inStock).toBe(true);
    expect(queries).toEqual([['a', 'unknown']]);
    expect(looks).toHaveLength(1);
  });

  it('after the TTL, catches up with what changed: a sold-out product is seen as such, unchanged facts are not read again', async () => {
    const { catalog, queries, looks, write } = countingCatalog({ a: { category: 'x', inStock: true }, b: { category: 'y', inStock: true } });
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, now: () => now });
    await cache.facts(['a', 'b']);
    write('a', { category: 'x', inStock: false });
    now = 500;
    expect((await cache.facts(['a'])).get('a')?.inStock).toBe(true); // within the TTL: memory
    now = 1001;
    const after = await cache.facts(['a', 'b']);
    expect(after.get('a')?.inStock).toBe(false);
    expect(after.get('b')?.inStock).toBe(true);
    expect(queries).toEqual([['a', 'b']]);
    expect(looks).toHaveLength(2);
  });

  it('sees a write that committed after the last look but was stamped before it, through the overlap', async () => {
    const { catalog, write } = countingCatalog({ a: { category: 'x', inStock: true } });
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, overlapSeconds: 60, now: () => now });
    await cache.facts(['a']);
    write('a', { category: 'x', inStock: false }, 30_000);
    now = 1001;
    expect((await cache.facts(['a'])).get('a')?.inStock).toBe(false);
  });

  it('a product unknown when first asked for gets its facts once the catalog has it', async () => {
    const { catalog, write } = countingCatalog({});
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, now: () => now });
    expect((await cache.facts(['late'])).has('late')).toBe(false);
    write('late', { category: 'z', inStock: true });
    now = 1001;
    expect((await cache.facts(['late'])).get('late')).toEqual({ category: 'z', inStock: true });
  });

  it('fails while the catalog cannot be read past the TTL (serving then degrades), and catches up once it can', async () => {
    const { catalog, fail, write } = countingCatalog({ a: { category: 'x', inStock: true } });
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, now: () => now });
    await cache.facts(['a']);
    fail(true);
    write('a', { category: 'x', inStock: false });
    now = 1001;
    await expect(cache.facts(['a'])).rejects.toThrow('catalog unreachable');
    fail(false);
    expect((await cache.facts(['a'])).get('a')?.inStock).toBe(false);
  });

  it('keeps at most maxEntries products: a full map is dropped and the next starts empty', async () => {
    const { catalog, queries } = countingCatalog({ a: { category: 'x', inStock: true }, b: { category: 'y', inStock: true }, c: { category: 'z', inStock: true } });
    const cache = createCatalogFactsCache({ catalog, ttlMs: 60_000, maxEntries: 2, now: () => 0 });
    await cache.facts(['a', 'b']);
    const third = await cache.facts(['a', 'c']); // would make three: answered, and the map is dropped
    expect(third.get('a')?.category).toBe('x');
    expect(third.get('c')?.category).toBe('z');
    expect((await cache.facts(['a', 'b'])).size).toBeLessThanOrEqual(2);
    expect(queries).toEqual([['a', 'b'], ['c'], ['a', 'b']]);
  });

  it('a request whose read overlaps the drop of a full map still gets every fact it asked for', async () => {
    const { catalog } = countingCatalog({ a: { category: 'x', inStock: true }, b: { category: 'y', inStock: true }, c: { category: 'z', inStock: true } });
    const cache = createCatalogFactsCache({ catalog, ttlMs: 60_000, maxEntries: 2, now: () => 0 });
    await cache.facts(['a']);
    const slow = cache.facts(['a', 'b']); // a from memory, b being read
    await cache.facts(['c', 'b']); // fills the map meanwhile: it is dropped
    const answer = await slow;
    expect(answer.get('a')?.category).toBe('x');
    expect(answer.get('b')?.category).toBe('y');
  });

  it("covers a run list's products too, reading them once, and again after a full map is dropped", async () => {
    const { catalog, queries } = countingCatalog({ p1: { category: 'x', inStock: true }, p2: { category: 'x', inStock: false }, c: { category: 'y', inStock: true } });
    const cache = createCatalogFactsCache({ catalog, ttlMs: 60_000, maxEntries: 2, now: () => 0 });
    const popular = [candidate('p1'), candidate('p2')];
    expect((await cache.facts([], [popular])).get('p2')).toEqual({ category: 'x', inStock: false });
    expect((await cache.facts([], [popular])).get('p1')?.inStock).toBe(true);
    const withC = await cache.facts(['c'], [popular]); // three products: answered, and the map is dropped
    expect([...withC.keys()].sort()).toEqual(['c', 'p1', 'p2']);
    expect((await cache.facts([], [popular])).get('p2')?.inStock).toBe(false);
    expect(queries).toEqual([['p1', 'p2'], ['c'], ['p1', 'p2']]);
  });
});
