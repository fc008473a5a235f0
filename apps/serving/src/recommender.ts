import { randomFillSync } from 'node:crypto';
import type {
  DegradedSource,
  EventType,
  RecommendationsAnswer,
  RecommendationsQuery,
  RecommendedItem,
  SimilarItemsAnswer,
} from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';
import {
  assignVariant,
  buildSessionProfile,
  coinsOf,
  encodeRecommendationId,
  decideRepurchase,
  diversify,
  EMPTY_SESSION_PROFILE,
  isPurchaseSuppressing,
  mergeRecommendations,
  SESSION_SEED_PRODUCTS,
  teamDraftInterleave,
  withPurchases,
  type Candidate,
  type CatalogFacts,
  type SessionPolicy,
  type RepurchaseEvidence,
  type SeenPurchase,
  type SessionProfile,
} from '@lambdarec/domain';
import type { BatchViewReader, RunHistoryReader, SessionSnapshot, SessionStore } from '@lambdarec/stores';
import type { BatchViewCache, CachedBatchView } from './caches/batch-view-cache.js';
import type { CatalogFactsCache } from './caches/catalog-facts-cache.js';
import type { ExperimentCache } from './caches/experiment-cache.js';
import { LruMap } from './caches/lru-map.js';
import { createRepurchaseCache, type RepurchaseCache } from './caches/repurchase-cache.js';
import type { RunRankerCache } from './caches/run-ranker-cache.js';
import type { SimilarItemsCache } from './caches/similar-items-cache.js';
import { createUserItemsCache, type UserItemsCache } from './caches/user-items-cache.js';
import { tuneVariant, type TunedVariant } from './variant-tuning.js';

// Shared empties: most requests have no session, so these are what they merge with.
const NO_LISTS: ReadonlyMap<string, readonly Candidate[]> = new Map();
const NO_EVIDENCE: ReadonlyMap<string, RepurchaseEvidence> = new Map();
const NO_FACTS: ReadonlyMap<string, CatalogFacts> = new Map();

/** The `experiment.variant` of an interleaved answer: both variants built it, and each item names its team. */
export const INTERLEAVED = 'interleaved';

/** What a request reads once, whichever variants then rank from it. */
interface Reads {
  userId: string;
  view: CachedBatchView | undefined;
  snapshot: SessionSnapshot | undefined;
  personal: PromiseSettledResult<readonly Candidate[]>;
  /** The candidates gathered for this request, by what they depend on (gatherKey). */
  gathered: Map<string, Promise<Candidates>>;
  /** The user's list ranked again with the session's purchases, once per request (undefined: none to fold in). */
  reranked?: Promise<readonly Candidate[] | undefined>;
}

/**
 * How long a customer's re-ranked list answers again for the same purchases: the re-rank reads
 * the clock only for how long ago products were bought (whole days), so a minute changes nothing
 * but the cost of a shopper's next page after checkout.
 */
const RERANK_REUSE_MS = 60_000;

/** A re-ranked list, with the purchases and the time it was ranked with. */
interface RerankedEntry {
  runId: string;
  purchases: string;
  at: number;
  /** Undefined: the run had read every one of the purchases (the answer is as before). */
  items: readonly Candidate[] | undefined;
}

/**
 * What became of a request's re-rank after a purchase: ranked (or found all read by the run), answered from a re-rank of the
 * last minute, answered as before because the run's ranker is not built yet, or because the
 * user's history could not be read.
 */
export type RerankOutcome = 'ranked' | 'reused' | 'not-ready' | 'failed';

/** The category the session's events (of `type`, if given) named for a product, if any named one. */
const categoryInEvents = (snapshot: SessionSnapshot | undefined, productId: string, type?: EventType) =>
  snapshot?.signals.find((s) => s.productId === productId && s.category !== null && (type === undefined || s.type === type))?.category ??
  null;

/**
 * The purchases of the session that the run has not read (after its `asOf`), each with the
 * category its event named: what re-ranking folds into the customer's history.
 */
function unreadPurchases(snapshot: SessionSnapshot, asOf: number): SeenPurchase[] {
  const purchases: SeenPurchase[] = [];
  for (const [productId, at] of snapshot.purchases) {
    // A flagged burst's purchase stays out of the batch model, so out of the history folded in too.
    if (at <= asOf || snapshot.flaggedPurchases?.has(productId) === true) continue;
    purchases.push({ productId, at, category: categoryInEvents(snapshot, productId, 'purchase') });
  }
  return purchases.sort((a, b) => a.at - b.at || (a.productId < b.productId ? -1 : 1));
}

/**
 * The session as the merge sees it once the list was ranked with its purchases: they no longer
 * boost or seed (the ranking weighed them), and still suppress, as DESIGN says (ADR 017).
 */
const withoutPurchaseSignals = (snapshot: SessionSnapshot): SessionSnapshot => ({
  ...snapshot,
  signals: snapshot.signals.filter((s) => s.type !== 'purchase'),
});

/**
 * What a variant's candidates depend on: its strategy's inputs and the tuning that decides
 * suppressions, re-buys and session seeds. The category boost and the merge weights only weigh.
 */
const gatherKey = ({ strategy, policy }: TunedVariant): string =>
  `${strategy}|${policy.sessionWindowMs}|${policy.boostHalfLifeMs}|${policy.purchaseSuppressionMs}|${policy.rebuyThreshold}|${policy.rebuyMinBuyers}`;

/** 16 bytes from the operating system's generator: the recommendationId's randomness and the interleaving's coins. */
const systemRandomBytes = (size: number): Uint8Array => randomFillSync(new Uint8Array(size));

/** What the merge takes besides the run's popular list and the session profile. */
interface Candidates {
  personal: readonly Candidate[];
  similarToRecent: ReadonlyMap<string, readonly Candidate[]>;
  /**
   * The category lists the merge may fill from (the asked category, the session's boosted ones):
   * only those whose catalog facts were read, so none of them shows a sold-out product.
   */
  popularByCategory: ReadonlyMap<string, readonly Candidate[]>;
  facts: ReadonlyMap<string, CatalogFacts>;
  /** What the run learned about re-buying the session's purchases. */
  evidence: ReadonlyMap<string, RepurchaseEvidence>;
}

/**
 * Without Postgres, the popular list and its facts cached with the run still answer; without its
 * catalog facts the user's list could show sold-out products, so it is left out. Without what the
 * run learned about re-buying, every purchase suppresses (the safe side).
 */
function fromMemory(view: CachedBatchView | undefined): Candidates {
  return {
    personal: [],
    similarToRecent: NO_LISTS,
    popularByCategory: NO_LISTS,
    facts: view?.popularFacts ?? NO_FACTS,
    evidence: NO_EVIDENCE,
  };
}

/**
 * The session's profile, with each product's category from its events or else from `facts`, and
 * each purchase kept or suppressed by `evidence`.
 */
function sessionProfile(
  snapshot: SessionSnapshot | undefined,
  at: number,
  policy: SessionPolicy,
  facts: ReadonlyMap<string, CatalogFacts>,
  evidence: ReadonlyMap<string, RepurchaseEvidence>,
): SessionProfile {
  if (!hasSessionState(snapshot)) return EMPTY_SESSION_PROFILE;
  return buildSessionProfile(
    snapshot.signals,
    snapshot.purchases,
    at,
    policy,
    (productId) => facts.get(productId)?.category ?? null,
    (productId) => decideRepurchase(evidence.get(productId) ?? {}, policy),
  );
}

function hasSessionState(snapshot: SessionSnapshot | undefined): snapshot is SessionSnapshot {
  return snapshot !== undefined && (snapshot.signals.length > 0 || snapshot.purchases.size > 0);
}

/** The products whose purchase still suppresses them, unless the run's re-buy figures say otherwise. */
function suppressingPurchases(snapshot: SessionSnapshot | undefined, at: number, policy: SessionPolicy): string[] {
  return [...(snapshot?.purchases ?? [])].filter(([, t]) => isPurchaseSuppressing(t, at, policy)).map(([id]) => id);
}

/** The run's lists for the category asked for and the session's boosted ones, in that order. */
function categoryLists(
  view: CachedBatchView,
  query: RecommendationsQuery,
  profile: SessionProfile,
): ReadonlyMap<string, readonly Candidate[]> {
  const categories = new Set(query.category === undefined ? [] : [query.category]);
  for (const [category, boost] of profile.categoryBoosts) if (boost > 0) categories.add(category);
  const listed = new Map<string, readonly Candidate[]>();
  for (const category of categories) {
    const list = view.popularByCategory.get(category);
    if (list !== undefined) listed.set(category, list);
  }
  return listed.size > 0 ? listed : NO_LISTS;
}

/** The request's own products, whose facts it needs: the user's list, the session's neighbours, its signals. */
function ownProductIds(
  personal: readonly Candidate[],
  similarToRecent: ReadonlyMap<string, readonly Candidate[]>,
  snapshot: SessionSnapshot | undefined,
): string[] {
  // Repeats are fine: the cache looks each one up, and reads each missing product once.
  const ids: string[] = [];
  for (const c of personal) ids.push(c.productId);
  for (const list of similarToRecent.values()) for (const c of list) ids.push(c.productId);
  for (const s of snapshot?.signals ?? []) ids.push(s.productId);
  return ids;
}

export interface RecommenderOptions {
  sessions: SessionStore;
  batchView: BatchViewReader;
  batchCache: BatchViewCache;
  /** Per-user lists of the published run. @defaultValue a cache over batchView */
  userItems?: UserItemsCache;
  similarItems: SimilarItemsCache;
  catalog: CatalogFactsCache;
  /** Re-buy figures of the published run. @defaultValue a cache over batchView */
  repurchase?: RepurchaseCache;
  policy: SessionPolicy;
  /** λ of the re-rank by category after the merge (`DIVERSITY`; a variant's params may set its own). */
  diversity: number;
  /** The running experiment, if any. @defaultValue none: every answer is the configured merge */
  experiments?: Pick<ExperimentCache, 'current'>;
  log: Logger;
  now?: () => number;
  /** @defaultValue the system's secure generator */
  randomBytes?: (size: number) => Uint8Array;
  /**
   * Re-ranks a customer against the published run once their session holds a purchase the run
   * has not read (ADR 017). @defaultValue off: purchases only suppress and boost, as before
   */
  rerank?: {
    rankers: RunRankerCache;
    histories: Pick<RunHistoryReader, 'userHistory'>;
    /** Customers whose re-ranked list is kept for `RERANK_REUSE_MS`. @defaultValue 10 000 */
    maxEntries?: number;
    /** Told of each request with an unread purchase: what became of its re-rank (metrics). */
    onRerank?: (outcome: RerankOutcome) => void;
  };
}

export interface Recommender {
  recommend(userId: string, query: RecommendationsQuery): Promise<RecommendationsAnswer>;
  similar(productId: string, limit: number): Promise<SimilarItemsAnswer>;
}

/**
 * Per request: the user's session (Redis) and batch row (Postgres, by primary key) in parallel;
 * similar items and catalog facts mostly from memory; merged by the shared domain logic. A failing
 * source degrades the answer instead of failing it.
 */
export function createRecommender({
  sessions,
  batchView,
  batchCache,
  userItems = createUserItemsCache({ batchView }),
  similarItems,
  catalog,
  repurchase = createRepurchaseCache({ batchView }),
  policy,
  diversity,
  experiments,
  log,
  now = Date.now,
  randomBytes = systemRandomBytes,
  rerank,
}: RecommenderOptions): Recommender {
  const rerankedLists = new LruMap<string, RerankedEntry>(rerank?.maxEntries ?? 10_000);
  /** The answer outside any experiment: the merge with the configured tuning. */
  const configured = tuneVariant({ name: 'configured', strategy: 'lambda', params: {} }, policy, diversity);

  /** The run's re-buy figures for the purchases that would suppress, each product with its category. */
  async function rebuyEvidence(
    runId: string,
    purchased: string[],
    snapshot: SessionSnapshot | undefined,
  ): Promise<ReadonlyMap<string, RepurchaseEvidence>> {
    const purchasedFacts = await catalog.facts(purchased);
    return repurchase.evidence(
      runId,
      purchased.map((productId) => ({
        productId,
        category: purchasedFacts.get(productId)?.category ?? categoryInEvents(snapshot, productId),
      })),
    );
  }

  /**
   * Everything the published run and the catalog add to the user's list. Each read decides the
   * next: the re-buy figures decide which purchases are suppressed, which decides the session
   * products that seed neighbours, and the facts are read last, for every candidate at once.
   * Throws when Postgres cannot be read.
   */
  async function gatherCandidates(
    view: CachedBatchView,
    personal: readonly Candidate[],
    snapshot: SessionSnapshot | undefined,
    query: RecommendationsQuery,
    at: number,
    policy: SessionPolicy,
    /** Where a purchase's category is looked up when the catalog has none: the whole session, purchase events included. */
    events: SessionSnapshot | undefined,
  ): Promise<Candidates> {
    const runId = view.run.runId;
    const purchased = suppressingPurchases(snapshot, at, policy);
    const evidence = purchased.length > 0 ? await rebuyEvidence(runId, purchased, events) : NO_EVIDENCE;
    // Seeds and boosted categories from what memory knows: the catalog's facts come with the candidates.
    const seeding = sessionProfile(snapshot, at, policy, view.popularFacts, evidence);
    const similarToRecent =
      seeding.recentProducts.length > 0
        ? await similarItems.similarItems(runId, seeding.recentProducts.slice(0, SESSION_SEED_PRODUCTS))
        : NO_LISTS;
    const popularByCategory = categoryLists(view, query, seeding);
    // The run's lists are the same for every request: the cache checks each once while it holds their facts.
    const facts = await catalog.facts(ownProductIds(personal, similarToRecent, snapshot), [view.popular, ...popularByCategory.values()]);
    return { personal, similarToRecent, popularByCategory, facts, evidence };
  }

  /**
   * The user's list ranked again against the published run with the session's unread purchases
   * folded into their history (ADR 017); undefined when there are none, or the run's ranker is
   * not built yet (the answer is then the merge alone, as before). Throws when the history cannot be read.
   */
  async function rerankedList(
    view: CachedBatchView,
    userId: string,
    snapshot: SessionSnapshot | undefined,
    at: number,
  ): Promise<readonly Candidate[] | undefined> {
    if (rerank === undefined) return undefined;
    const runId = view.run.runId;
    // A request that began before a newer run was seen answers from its own run as before: asking
    // for the older run's ranker would throw the newer one's build away.
    if (batchCache.current()?.run.runId !== runId) return undefined;
    // Asked on every request, so that a newly published run's ranker starts building before a purchase needs it.
    const ranker = rerank.rankers.current(runId);
    if (snapshot === undefined || snapshot.purchases.size === 0) return undefined;
    if (ranker === undefined) {
      // Whether the purchases are unread is the run's to say (its asOf): counted as waiting either way.
      rerank.onRerank?.('not-ready');
      return undefined;
    }
    const purchases = unreadPurchases(snapshot, ranker.asOf);
    if (purchases.length === 0) return undefined;
    const key = purchases.map((p) => `${p.productId}@${p.at}`).join(',');
    const hit = rerankedLists.get(userId);
    if (hit !== undefined && hit.runId === runId && hit.purchases === key && Math.abs(at - hit.at) < RERANK_REUSE_MS) {
      rerank.onRerank?.('reused');
      return hit.items;
    }
    let history;
    try {
      history = await rerank.histories.userHistory(runId, userId);
    } catch (err) {
      rerank.onRerank?.('failed');
      throw err;
    }
    // The run may have read a purchase dated after its asOf (a client's clock ahead, an event that
    // arrived while the input froze): the history says so, and it is not folded in twice.
    const unread = purchases.filter(
      (p) => !history.some((row) => row.type === 'purchase' && row.productId === p.productId && row.lastAt >= p.at),
    );
    const items = unread.length === 0 ? undefined : ranker.rank(userId, withPurchases(userId, history, unread), at);
    rerankedLists.set(userId, { runId, purchases: key, at, items });
    rerank.onRerank?.('ranked');
    return items;
  }

  /** One list by one variant's strategy, from the reads the request shares with any other variant. */
  async function rank(
    variant: TunedVariant,
    reads: Reads,
    query: RecommendationsQuery,
    at: number,
  ): Promise<{ items: RecommendedItem[]; batchError: unknown; usedSession: boolean }> {
    const { view, snapshot, personal } = reads;
    // After a purchase, the merge's own strategy ranks the user again (the other variants are its baselines).
    let reranked: readonly Candidate[] | undefined;
    if (variant.strategy === 'lambda' && view !== undefined && personal.status === 'fulfilled') {
      reads.reranked ??= rerankedList(view, reads.userId, snapshot, at).catch((err: unknown) => {
        log.warn({ err, userId: reads.userId }, 'could not re-rank after a purchase; answering with the batch list');
        return undefined;
      });
      reranked = await reads.reranked;
    }
    // batch-only leaves the session out; popular also the user's batch list: the same merge, fewer inputs.
    const session = variant.strategy !== 'lambda' ? undefined : reranked === undefined ? snapshot : withoutPurchaseSignals(snapshot!);
    let batchError: unknown = personal.status === 'rejected' ? personal.reason : undefined;
    let candidates = fromMemory(view);
    if (view !== undefined && personal.status === 'fulfilled') {
      try {
        const own = variant.strategy === 'popular' ? [] : (reranked ?? personal.value);
        // Two variants that differ only in how the merge weighs (an interleaved boost test) gather once.
        const key = gatherKey(variant);
        let gathering = reads.gathered.get(key);
        if (gathering === undefined) {
          gathering = gatherCandidates(view, own, session, query, at, variant.policy, snapshot);
          reads.gathered.set(key, gathering);
        }
        candidates = await gathering;
      } catch (err) {
        batchError = err;
      }
    }
    // Again with the catalog's categories for the boosts (seeds and suppressions do not depend on them).
    const profile = sessionProfile(session, at, variant.policy, candidates.facts, candidates.evidence);
    // Diversified, the merge's best 2 × limit are what maximal marginal relevance picks from, as
    // the eval's curve of it does (its top 20 for 10). Asked for one category, there is nothing to spread.
    const diversity = query.category === undefined ? variant.diversity : 0;
    const merged = mergeRecommendations({
      personal: candidates.personal,
      similarToRecent: candidates.similarToRecent,
      popular: view?.popular ?? [],
      popularByCategory: candidates.popularByCategory,
      session: profile,
      catalog: candidates.facts,
      limit: diversity > 0 ? 2 * query.limit : query.limit,
      category: query.category,
      exclude: query.exclude,
      policy: variant.policy,
      // A kept staple's re-buy share is in the re-ranked list already: it keeps its reason, at no weight.
      weights: reranked === undefined ? variant.weights : { ...variant.weights, rebought: 0 },
    });
    const items = diversity > 0 ? diversify(merged, diversity, query.limit) : merged;
    return { items, batchError, usedSession: hasSessionState(session) };
  }

  return {
    async recommend(userId, query) {
      const degraded: DegradedSource[] = [];
      const experiment = experiments?.current();
      const random = randomBytes(16);
      // Who answers: the configured merge, the user's variant (A/B), or both teams (interleaving).
      const variantIndex = experiment?.mode === 'ab' ? assignVariant(experiment.id, userId, experiment.weights) : 0;
      const variants: readonly TunedVariant[] =
        experiment === undefined ? [configured] : experiment.mode === 'ab' ? [experiment.variants[variantIndex]!] : experiment.variants;
      const view = batchCache.current();
      const readsSession = variants.some((variant) => variant.strategy === 'lambda');
      const readsPersonal = view !== undefined && variants.some((variant) => variant.strategy !== 'popular');
      const [sessionRead, personal] = await Promise.allSettled([
        readsSession ? sessions.read(userId) : Promise.resolve(undefined),
        readsPersonal ? userItems.userItems(view.run.runId, userId) : Promise.resolve([] as Candidate[]),
      ]);
      const snapshot = sessionRead.status === 'fulfilled' ? sessionRead.value : undefined;
      if (sessionRead.status === 'rejected') {
        degraded.push('session');
        log.warn({ err: sessionRead.reason, userId }, 'session state unavailable; answering from the batch view');
      }

      const at = now();
      const reads: Reads = { userId, view, snapshot, personal, gathered: new Map() };
      const lists = await Promise.all(variants.map((variant) => rank(variant, reads, query, at)));
      let batchError = lists.find((list) => list.batchError !== undefined)?.batchError;
      // Answered from memory while Postgres cannot be read: a newer run may have been published
      // meanwhile, and never having read a run is not "no run published yet" either.
      if (!batchCache.reachable()) batchError ??= new Error('the published run cannot be checked: Postgres is unreachable');
      if (batchError !== undefined) {
        degraded.push('batch');
        log.warn({ err: batchError, userId }, 'batch view unavailable; answering from what is in memory');
      }

      let items = lists[0]!.items;
      let recommendationId: string;
      if (experiment?.mode === 'interleave') {
        const drafted = teamDraftInterleave(lists[0]!.items, lists[1]!.items, query.limit, coinsOf(random), (item) => item.productId);
        items = drafted.items.map(({ item, team }) => ({ ...item, team: variants[team]!.name }));
        recommendationId = encodeRecommendationId(random, { tag: experiment.tag, variantIndex: 0, ...drafted.layout });
      } else {
        recommendationId = encodeRecommendationId(random, { tag: experiment?.tag ?? 0, variantIndex });
      }
      return {
        userId,
        recommendationId,
        experiment:
          experiment === undefined ? null : { id: experiment.id, variant: experiment.mode === 'ab' ? variants[0]!.name : INTERLEAVED },
        items,
        sources: {
          batchRunId: view?.run.runId ?? null,
          batchPublishedAt: view?.run.publishedAt ?? null,
          session: lists.some((list) => list.usedSession),
        },
        degraded: degraded.sort(),
      };
    },

    async similar(productId, limit) {
      const view = batchCache.current();
      if (view === undefined) return { productId, items: [] };
      try {
        const similar = (await similarItems.similarItems(view.run.runId, [productId])).get(productId) ?? [];
        const facts = await catalog.facts(similar.map((c) => c.productId));
        const items = similar
          .filter((c) => facts.get(c.productId)?.inStock !== false)
          .slice(0, limit)
          .map((c) => ({ ...c, score: Math.round(c.score * 1e4) / 1e4, category: facts.get(c.productId)?.category ?? c.category }));
        return { productId, items };
      } catch (err) {
        log.warn({ err, productId }, 'similar items unavailable');
        return { productId, items: [], degraded: ['batch'] };
      }
    },
  };
}
