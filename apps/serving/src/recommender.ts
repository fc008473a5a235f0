import type { DegradedSource, RecommendationsAnswer, RecommendationsQuery, SimilarItemsAnswer } from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';
import {
  buildSessionProfile,
  EMPTY_SESSION_PROFILE,
  mergeRecommendations,
  SESSION_SEED_PRODUCTS,
  type Candidate,
  type CatalogFacts,
  type SessionPolicy,
  type SessionProfile,
} from '@lambdarec/domain';
import type { BatchViewRepository, SessionSnapshot, SessionStore } from '@lambdarec/stores';
import type { BatchViewCache } from './batch-view-cache.js';
import type { CatalogFactsCache, SimilarItemsCache } from './read-caches.js';

export interface RecommenderOptions {
  sessions: SessionStore;
  batchView: BatchViewRepository;
  batchCache: BatchViewCache;
  similarItems: SimilarItemsCache;
  catalog: CatalogFactsCache;
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
  similarItems,
  catalog,
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
        view === undefined ? Promise.resolve([] as Candidate[]) : batchView.userItems(view.run.runId, userId),
      ]);

      let snapshot: SessionSnapshot | undefined;
      if (sessionResult.status === 'fulfilled') snapshot = sessionResult.value;
      else {
        degraded.push('session');
        log.warn({ err: sessionResult.reason, userId }, 'session state unavailable; answering from the batch view');
      }
      let batchError: unknown = personalResult.status === 'rejected' ? personalResult.reason : undefined;
      const personal = personalResult.status === 'fulfilled' ? personalResult.value : [];

      const at = now();
      // A first pass without catalog categories finds the session's products for similar items.
      let profile: SessionProfile =
        snapshot === undefined ? EMPTY_SESSION_PROFILE : buildSessionProfile(snapshot.signals, snapshot.purchases, at, policy);
      const seeds = profile.recentProducts.slice(0, SESSION_SEED_PRODUCTS);

      const popular = view?.popular ?? [];
      let similarToRecent = new Map<string, Candidate[]>();
      // Without Postgres, the popular list and its facts cached with the run still answer.
      let facts: Map<string, CatalogFacts> = view?.popularFacts ?? new Map();
      if (view !== undefined && batchError === undefined) {
        try {
          similarToRecent = await similarItems.similarItems(view.run.runId, seeds);
          const ids = new Set<string>();
          for (const c of personal) ids.add(c.productId);
          for (const list of similarToRecent.values()) for (const c of list) ids.add(c.productId);
          for (const c of popular) ids.add(c.productId);
          for (const s of snapshot?.signals ?? []) if (s.category === null) ids.add(s.productId);
          facts = await catalog.facts([...ids]);
        } catch (err) {
          batchError = err;
          similarToRecent = new Map();
        }
      }
      // Never having read a run because Postgres is down is degraded too (not "no run published yet").
      if (view === undefined && !batchCache.reachable()) batchError ??= new Error('the batch view has not been readable since start-up');
      if (batchError !== undefined) {
        degraded.push('batch');
        log.warn({ err: batchError, userId }, 'batch view unavailable; answering popular items from memory');
      }

      if (snapshot !== undefined) {
        profile = buildSessionProfile(snapshot.signals, snapshot.purchases, at, policy, (productId) => facts.get(productId)?.category ?? null);
      }
      const items = mergeRecommendations({
        personal,
        similarToRecent,
        popular,
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
