import type { Candidate, CatalogFacts, RepurchaseEvidence, RepurchaseStats } from '@lambdarec/domain';
import { unseenByEither, type BatchViewRepository, type CatalogRepository, type CatalogSnapshot } from '@lambdarec/stores';

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
 * 10k products that cost serving a fifth of its throughput and pushed its p99 up every second;
 * see docs/decisions/011.)
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
  const newGeneration = () => ({ facts: new Map<string, CatalogFacts>(), unknown: new Set<string>(), coveredLists: new WeakSet<readonly Candidate[]>() });
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

export interface UserItemsCache {
  /** The user's list in the given run (empty for a user the run has no list for). */
  userItems(runId: string, userId: string): Promise<Candidate[]>;
}

const NO_CATEGORY = 0xffffffff;

/**
 * The strings of one run's lists, each kept once however many cached lists hold it: a run has a
 * few thousand products and categories but tens of thousands of lists of 50 items.
 */
class RunStrings {
  private readonly indexOf = new Map<string, number>();
  private readonly values: string[] = [];
  private readonly reasonListOf = new Map<string, number>();
  private readonly reasonLists: string[][] = [];
  constructor(readonly runId: string) {}

  string(value: string): number {
    let index = this.indexOf.get(value);
    if (index === undefined) this.indexOf.set(value, (index = this.values.push(value) - 1));
    return index;
  }

  reasons(reasons: string[]): number {
    const key = reasons.join('\u0000');
    let index = this.reasonListOf.get(key);
    if (index === undefined) this.reasonListOf.set(key, (index = this.reasonLists.push(Object.freeze([...reasons]) as string[]) - 1));
    return index;
  }

  valueAt(index: number): string {
    return this.values[index]!;
  }

  reasonsAt(index: number): string[] {
    return this.reasonLists[index]!;
  }
}

/** One user's list in about 20 bytes an item (1.6 KB with 50, the objects included): product, category and reasons as run strings, and the score. */
interface CompactList {
  strings: RunStrings;
  /** Per item: product, category (NO_CATEGORY for none), reasons. */
  refs: Uint32Array;
  scores: Float64Array;
}

function compact(strings: RunStrings, items: readonly Candidate[]): CompactList {
  const refs = new Uint32Array(items.length * 3);
  const scores = new Float64Array(items.length);
  items.forEach((item, i) => {
    refs[i * 3] = strings.string(item.productId);
    refs[i * 3 + 1] = item.category === null ? NO_CATEGORY : strings.string(item.category);
    refs[i * 3 + 2] = strings.reasons(item.reasons);
    scores[i] = item.score;
  });
  return { strings, refs, scores };
}

// The reasons arrays are shared by every item that has them (frozen: nobody may change them).
function expand({ strings, refs, scores }: CompactList): Candidate[] {
  const items: Candidate[] = new Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const category = refs[i * 3 + 1]!;
    items[i] = {
      productId: strings.valueAt(refs[i * 3]!),
      score: scores[i]!,
      category: category === NO_CATEGORY ? null : strings.valueAt(category),
      reasons: strings.reasonsAt(refs[i * 3 + 2]!),
    };
  }
  return items;
}

/**
 * A run's per-user lists never change, and shoppers come back: keep the lists of the users asked
 * for most recently, at most `maxEntries` of them, compactly (about 1 KB for 50 items, against
 * some 8 KB as objects), so that memory holds most of a shop's active users. Each list remembers
 * its run and only answers for that run: once a new run is published, lists of the old one are
 * never served; they are replaced as their users come back, or evicted.
 */
export function createUserItemsCache({ batchView, maxEntries = 100_000 }: { batchView: BatchViewRepository; maxEntries?: number }): UserItemsCache {
  const cache = new LruMap<string, CompactList>(maxEntries);
  let strings = new RunStrings('');
  return {
    async userItems(runId, userId) {
      const hit = cache.get(userId);
      if (hit !== undefined && hit.strings.runId === runId) return expand(hit);
      const items = await batchView.userItems(runId, userId);
      if (strings.runId !== runId) strings = new RunStrings(runId);
      cache.set(userId, compact(strings, items));
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
