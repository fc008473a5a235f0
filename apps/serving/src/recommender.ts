import type { DegradedSource, RecommendationsAnswer, RecommendationsQuery, SimilarItemsAnswer } from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';
import {
  buildSessionProfile,
  decideRepurchase,
  EMPTY_SESSION_PROFILE,
  isPurchaseSuppressing,
  mergeRecommendations,
  SESSION_SEED_PRODUCTS,
  type Candidate,
  type CatalogFacts,
  type SessionPolicy,
  type RepurchaseEvidence,
  type SessionProfile,
} from '@lambdarec/domain';
import type { BatchViewRepository, SessionSnapshot, SessionStore } from '@lambdarec/stores';
import type { BatchViewCache } from './caches/batch-view-cache.js';
import type { CatalogFactsCache } from './caches/catalog-facts-cache.js';
import { createRepurchaseCache, type RepurchaseCache } from './caches/repurchase-cache.js';
import type { SimilarItemsCache } from './caches/similar-items-cache.js';
import { createUserItemsCache, type UserItemsCache } from './caches/user-items-cache.js';

// Shared empties: most requests have no session, so these are what they merge with.
const NO_LISTS: ReadonlyMap<string, readonly Candidate[]> = new Map();
const NO_EVIDENCE: ReadonlyMap<string, RepurchaseEvidence> = new Map();

export interface RecommenderOptions {
  sessions: SessionStore;
  batchView: BatchViewRepository;
  batchCache: BatchViewCache;
  /** Per-user lists of the published run. @defaultValue a cache over batchView */
  userItems?: UserItemsCache;
  similarItems: SimilarItemsCache;
  catalog: CatalogFactsCache;
  /** Re-buy figures of the published run. @defaultValue a cache over batchView */
  repurchase?: RepurchaseCache;
  policy: SessionPolicy;
  log: Logger;
  now?: () => number;
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
  log,
  now = Date.now,
}: RecommenderOptions): Recommender {
  return {
    async recommend(userId, query) {
      const degraded: DegradedSource[] = [];
      const view = batchCache.current();
      const [sessionResult, personalResult] = await Promise.allSettled([
        sessions.read(userId),
        view === undefined ? Promise.resolve([] as Candidate[]) : userItems.userItems(view.run.runId, userId),
      ]);

      let snapshot: SessionSnapshot | undefined;
      if (sessionResult.status === 'fulfilled') snapshot = sessionResult.value;
      else {
        degraded.push('session');
        log.warn({ err: sessionResult.reason, userId }, 'session state unavailable; answering from the batch view');
      }
      let batchError: unknown = personalResult.status === 'rejected' ? personalResult.reason : undefined;
      let personal = personalResult.status === 'fulfilled' ? personalResult.value : [];

      const at = now();
      const popular = view?.popular ?? [];
      let similarToRecent: ReadonlyMap<string, readonly Candidate[]> = NO_LISTS;
      // The category lists the merge may fill from (the asked category, the session's boosted
      // ones): only those whose catalog facts were read, so none of them shows a sold-out product.
      let popularByCategory: ReadonlyMap<string, readonly Candidate[]> = NO_LISTS;
      // Without Postgres, the popular list and its facts cached with the run still answer.
      let facts: ReadonlyMap<string, CatalogFacts> = view?.popularFacts ?? new Map();
      // Without what the run learned about re-buying, every purchase suppresses (the safe side).
      let evidence: ReadonlyMap<string, RepurchaseEvidence> = NO_EVIDENCE;
      let profile: SessionProfile = EMPTY_SESSION_PROFILE;
      const categoryOf = (productId: string) => facts.get(productId)?.category ?? null;
      const profileOf = () =>
        snapshot === undefined || (snapshot.signals.length === 0 && snapshot.purchases.size === 0)
          ? EMPTY_SESSION_PROFILE
          : buildSessionProfile(snapshot.signals, snapshot.purchases, at, policy, categoryOf, (productId) =>
              decideRepurchase(evidence.get(productId) ?? {}, policy),
            );
      if (view !== undefined && batchError === undefined) {
        try {
          // Re-buy figures first: whether a purchase is suppressed decides which session products seed candidates.
          const purchased = [...(snapshot?.purchases ?? [])].filter(([, t]) => isPurchaseSuppressing(t, at, policy)).map(([id]) => id);
          if (purchased.length > 0) {
            const purchasedFacts = await catalog.facts(purchased);
            const eventCategory = (productId: string) => snapshot?.signals.find((s) => s.productId === productId && s.category !== null)?.category ?? null;
            evidence = await repurchase.evidence(
              view.run.runId,
              purchased.map((productId) => ({ productId, category: purchasedFacts.get(productId)?.category ?? eventCategory(productId) })),
            );
          }
          profile = profileOf();
          if (profile.recentProducts.length > 0) {
            similarToRecent = await similarItems.similarItems(view.run.runId, profile.recentProducts.slice(0, SESSION_SEED_PRODUCTS));
          }
          // Repeats are fine: the cache looks each one up, and reads each missing product once.
          const ids: string[] = [];
          for (const c of personal) ids.push(c.productId);
          for (const list of similarToRecent.values()) for (const c of list) ids.push(c.productId);
          for (const s of snapshot?.signals ?? []) ids.push(s.productId);
          // The run's lists are the same for every request: the cache checks each once while it holds their facts.
          const runLists: Array<readonly Candidate[]> = [popular];
          const categories = new Set(query.category === undefined ? [] : [query.category]);
          for (const [category, boost] of profile.categoryBoosts) if (boost > 0) categories.add(category);
          const listed = new Map<string, readonly Candidate[]>();
          for (const category of categories) {
            const list = view.popularByCategory.get(category);
            if (list === undefined) continue;
            listed.set(category, list);
            runLists.push(list);
          }
          if (listed.size > 0) popularByCategory = listed;
          facts = await catalog.facts(ids, runLists);
        } catch (err) {
          batchError = err;
          // Without its catalog facts the user's list could show sold-out products: popular items only.
          personal = [];
          similarToRecent = NO_LISTS;
          popularByCategory = NO_LISTS;
          evidence = NO_EVIDENCE;
        }
      }
      // Answered from memory while Postgres cannot be read: a newer run may have been published
      // meanwhile, and never having read a run is not "no run published yet" either.
      if (!batchCache.reachable()) batchError ??= new Error('the published run cannot be checked: Postgres is unreachable');
      if (batchError !== undefined) {
        degraded.push('batch');
        log.warn({ err: batchError, userId }, 'batch view unavailable; answering from what is in memory');
      }

      // Again with the catalog's categories for the boosts (seeds and suppressions do not depend on them).
      profile = profileOf();
      const items = mergeRecommendations({
        personal,
        similarToRecent,
        popular,
        popularByCategory,
        session: profile,
        catalog: facts,
        limit: query.limit,
        category: query.category,
        exclude: query.exclude,
        policy,
      });
      const hasSession = snapshot !== undefined && (snapshot.signals.length > 0 || snapshot.purchases.size > 0);
      return {
        userId,
        items,
        sources: {
          batchRunId: view?.run.runId ?? null,
          batchPublishedAt: view?.run.publishedAt ?? null,
          session: hasSession,
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
