import type { Candidate, CatalogFacts } from '@lambdarec/domain';
import { unseenByEither, type CatalogRepository, type CatalogSnapshot } from '@lambdarec/stores';

export interface CatalogFactsCache {
  /**
   * Facts that cover at least the given products (repeats are fine): those in memory, the rest in
   * one query, after catching up with the catalog's changes when the last look is older than the
   * TTL. Products the catalog does not know are absent. Throws when the catalog cannot be read.
   * `lists` are the run's lists, the same arrays for every request and never changed: their
   * products are covered too, and each list is looked through once while memory holds its facts.
   */
  facts(productIds: readonly string[], lists?: ReadonlyArray<readonly Candidate[]>): Promise<ReadonlyMap<string, CatalogFacts>>;
}

/**
 * Catalog facts change rarely but are needed for every candidate of every answer (a few hundred
 * per request). They stay in memory, and at most every `ttlMs` one query brings what the catalog
 * changed since the last look (`changesSince`: the writes of every transaction the last look's
 * snapshot, or a read's, could not see, however long that transaction ran). So a product sold out
 * stops showing within about `ttlMs` of its commit, but unchanged facts are never read again.
 * (The earlier cache started empty every `ttlMs` and read each product again: at 100k users and
 * 10k products that cost serving much of its throughput and pushed its p99 up every second;
 * ADR 011.)
 *
 * The current map goes to the merge as it is, so a request costs one lookup per candidate and
 * copies nothing; a caller uses it synchronously after the await. When memory would hold more
 * than `maxEntries` products, a new map starts empty.
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
  const newGeneration = () => ({
    facts: new Map<string, CatalogFacts>(),
    unknown: new Set<string>(),
    coveredLists: new WeakSet<readonly Candidate[]>(),
  });
  let generation = newGeneration();
  /** The local time the last successful look at the changes was sent. */
  let syncedAt = -Infinity;
  /** The snapshot of the last successful look: the next one asks for what it could not see. */
  let lookedAt: CatalogSnapshot | undefined;
  /**
   * What the reads stored in memory since the last look was sent could not see. A read that began
   * before a look may store its older value after it, and that look skipped the change (the
   * product was not in memory yet): the next look asks again for what the read missed.
   */
  let unseenByReads: CatalogSnapshot | undefined;
  let syncing: Promise<void> | undefined;

  // One look at a time, shared by the requests that need it.
  const sync = () =>
    (syncing ??= (async () => {
      const sentAt = now();
      const reads = unseenByReads;
      unseenByReads = undefined;
      try {
        const { snapshot, changes } = await catalog.changesSince(unseenByEither(lookedAt, reads));
        const current = generation;
        // Only products in memory need the change; the others are read when first asked for.
        for (const [productId, facts] of changes) {
          if (current.facts.has(productId) || current.unknown.delete(productId)) current.facts.set(productId, facts);
        }
        lookedAt = snapshot;
        syncedAt = sentAt;
      } catch (err) {
        unseenByReads = unseenByEither(unseenByReads, reads);
        throw err;
      } finally {
        syncing = undefined;
      }
    })());

  return {
    async facts(productIds, lists = []) {
      if (now() - syncedAt > ttlMs) await sync();
      const current = generation;
      const { facts: known, unknown } = current;
      let missing: Set<string> | undefined;
      // Plain loops: this runs over a few hundred ids per request.
      for (const productId of productIds) {
        if (!known.has(productId) && !unknown.has(productId)) (missing ??= new Set()).add(productId);
      }
      const uncovered = lists.length === 0 ? lists : lists.filter((list) => !current.coveredLists.has(list));
      for (const list of uncovered) {
        for (const { productId } of list) if (!known.has(productId) && !unknown.has(productId)) (missing ??= new Set()).add(productId);
      }
      // Covered once every product of the list is in memory (facts or known unknown); that only ends with the map.
      const cover = () => {
        for (const list of uncovered) current.coveredLists.add(list);
      };
      if (missing === undefined) {
        cover();
        return current.facts;
      }
      const { facts: fetched, snapshot } = await catalog.factsWithSnapshot([...missing]);
      const full = current.facts.size + current.unknown.size + missing.size > maxEntries;
      if (generation !== current || full) {
        // Memory is full, or another request found it full during the read: this answer stands
        // alone (what the request found in memory plus what it read), and a full map is dropped.
        if (generation === current) generation = newGeneration();
        const answer = new Map(fetched);
        const keep = (productId: string) => {
          const facts = current.facts.get(productId);
          if (facts !== undefined && !answer.has(productId)) answer.set(productId, facts);
        };
        for (const productId of productIds) keep(productId);
        for (const list of lists) for (const { productId } of list) keep(productId);
        return answer;
      }
      for (const productId of missing) {
        const facts = fetched.get(productId);
        if (facts === undefined) current.unknown.add(productId);
        else current.facts.set(productId, facts);
      }
      unseenByReads = unseenByEither(unseenByReads, snapshot);
      cover();
      return current.facts;
    },
  };
}
