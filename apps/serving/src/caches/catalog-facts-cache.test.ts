import type { Candidate, CatalogFacts } from '@lambdarec/domain';
import type { CatalogRepository, CatalogSnapshot } from '@lambdarec/stores';
import { describe, expect, it } from 'vitest';
import { createCatalogFactsCache } from './catalog-facts-cache.js';

/**
 * An in-memory stand-in for the catalog's reads (the Postgres side is tested in libs/stores), with
 * Postgres's visibility: each write belongs to a transaction, seen by nobody until it commits, and
 * every read and look returns the snapshot it ran in. Every query is recorded. Here only the
 * cache's own logic is under test.
 */
function countingCatalog(initial: Record<string, CatalogFacts>) {
  let nextXid = 10n;
  const running = new Set<bigint>();
  // Each product's committed facts and the transaction that wrote them.
  const rows = new Map(Object.entries(initial).map(([id, facts]) => [id, { facts, xid: 1n }]));
  const queries: string[][] = [];
  const looks: Array<CatalogSnapshot | undefined> = [];
  let failing = false;
  let readsHeld: Promise<void> | undefined;
  const snapshot = (): CatalogSnapshot => ({ xmax: nextXid, inProgress: [...running] });
  const begin = () => {
    const xid = nextXid++;
    running.add(xid);
    const writes = new Map<string, CatalogFacts>();
    return {
      write(id: string, facts: CatalogFacts) {
        writes.set(id, facts);
      },
      commit() {
        running.delete(xid);
        for (const [id, facts] of writes) rows.set(id, { facts, xid });
      },
    };
  };
  const catalog: CatalogRepository = {
    upsert: async () => 0,
    count: async () => rows.size,
    facts: async (ids) => (await catalog.factsWithSnapshot(ids)).facts,
    factsWithSnapshot: async (ids) => {
      if (failing) throw new Error('catalog unreachable');
      queries.push([...ids]);
      // What the read sees is fixed now; it may reach the cache later (holdReads).
      const read = {
        facts: new Map(ids.flatMap((id) => (rows.has(id) ? [[id, rows.get(id)!.facts] as const] : []))),
        snapshot: snapshot(),
      };
      await readsHeld;
      return read;
    },
    changesSince: async (since) => {
      if (failing) throw new Error('catalog unreachable');
      looks.push(since);
      const unseen = (xid: bigint) => since !== undefined && (xid >= since.xmax || since.inProgress.includes(xid));
      const changes = new Map([...rows].filter(([, row]) => unseen(row.xid)).map(([id, row]) => [id, row.facts] as const));
      return { snapshot: snapshot(), changes };
    },
  };
  return {
    catalog,
    queries,
    looks,
    /** Opens a transaction: its writes are seen once it commits. */
    begin,
    /** Writes a product in a transaction of its own that commits at once. */
    write(id: string, facts: CatalogFacts) {
      const tx = begin();
      tx.write(id, facts);
      tx.commit();
    },
    /** Reads from now on take their snapshot at once but answer only when released. */
    holdReads(): () => void {
      let release!: () => void;
      readsHeld = new Promise((resolve) => (release = resolve));
      return () => {
        readsHeld = undefined;
        release();
      };
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
    const { catalog, queries, looks, write } = countingCatalog({
      a: { category: 'x', inStock: true },
      b: { category: 'y', inStock: true },
    });
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

  it('sees a write whose transaction began before a look and commits after it, however long it stays open', async () => {
    const { catalog, begin } = countingCatalog({ a: { category: 'x', inStock: true } });
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, now: () => now });
    const long = begin();
    await cache.facts(['a']);
    long.write('a', { category: 'x', inStock: false });
    for (let look = 1; look <= 5; look++) {
      now = look * 1001;
      expect((await cache.facts(['a'])).get('a')?.inStock).toBe(true);
    }
    long.commit();
    now = 6 * 1001;
    expect((await cache.facts(['a'])).get('a')?.inStock).toBe(false);
  });

  it('a read that began before a look and stored its facts after it is set right by the next look', async () => {
    const { catalog, write, holdReads } = countingCatalog({ a: { category: 'x', inStock: true } });
    let now = 0;
    const cache = createCatalogFactsCache({ catalog, ttlMs: 1000, now: () => now });
    await cache.facts([]);
    const release = holdReads();
    const slow = cache.facts(['a']); // sees a in stock, reaches memory only after the next look
    write('a', { category: 'x', inStock: false });
    now = 1001;
    await cache.facts([]); // a look: a changed, but a was not in memory yet
    release();
    expect((await slow).get('a')?.inStock).toBe(true);
    now = 2002;
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
    const { catalog, queries } = countingCatalog({
      a: { category: 'x', inStock: true },
      b: { category: 'y', inStock: true },
      c: { category: 'z', inStock: true },
    });
    const cache = createCatalogFactsCache({ catalog, ttlMs: 60_000, maxEntries: 2, now: () => 0 });
    await cache.facts(['a', 'b']);
    const third = await cache.facts(['a', 'c']); // would make three: answered, and the map is dropped
    expect(third.get('a')?.category).toBe('x');
    expect(third.get('c')?.category).toBe('z');
    expect((await cache.facts(['a', 'b'])).size).toBeLessThanOrEqual(2);
    expect(queries).toEqual([['a', 'b'], ['c'], ['a', 'b']]);
  });

  it('a request whose read overlaps the drop of a full map still gets every fact it asked for', async () => {
    const { catalog } = countingCatalog({
      a: { category: 'x', inStock: true },
      b: { category: 'y', inStock: true },
      c: { category: 'z', inStock: true },
    });
    const cache = createCatalogFactsCache({ catalog, ttlMs: 60_000, maxEntries: 2, now: () => 0 });
    await cache.facts(['a']);
    const slow = cache.facts(['a', 'b']); // a from memory, b being read
    await cache.facts(['c', 'b']); // fills the map meanwhile: it is dropped
    const answer = await slow;
    expect(answer.get('a')?.category).toBe('x');
    expect(answer.get('b')?.category).toBe('y');
  });

  it("covers a run list's products too, reading them once, and again after a full map is dropped", async () => {
    const { catalog, queries } = countingCatalog({
      p1: { category: 'x', inStock: true },
      p2: { category: 'x', inStock: false },
      c: { category: 'y', inStock: true },
    });
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
