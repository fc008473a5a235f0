import { createCloser, type Logger, type PgPool, type Redis } from '@lambdarec/clients';
import { sessionPolicyFrom, type ServingConfig } from '@lambdarec/config';
import { createServiceApp, type HttpServer, type ReadinessCheck } from '@lambdarec/http';
import { type Registry } from '@lambdarec/metrics';
import { createBatchViewReader, createCatalogRepository, createSessionStore } from '@lambdarec/stores';
import { createBatchViewCache, type BatchViewCache } from './caches/batch-view-cache.js';
import { createCatalogFactsCache } from './caches/catalog-facts-cache.js';
import { createSimilarItemsCache } from './caches/similar-items-cache.js';
import { createUserItemsCache } from './caches/user-items-cache.js';
import { createRecommender, type Recommender } from './recommender.js';
import { itemsRoutes } from './routes/items.js';
import { recommendationsRoutes } from './routes/recommendations.js';

/** The serving HTTP app, built but not listening. */
export async function buildServingApp({
  log,
  registry,
  checks = {},
  optionalChecks = {},
  recommender,
  trustProxy = false,
}: {
  log: Logger;
  registry: Registry;
  /** Dependencies without which serving cannot answer (none today). @defaultValue {} */
  checks?: Record<string, ReadinessCheck>;
  /** Dependencies serving answers without, degraded: reported on /readyz, which stays 200. @defaultValue {} */
  optionalChecks?: Record<string, ReadinessCheck>;
  recommender: Recommender;
  trustProxy?: boolean | number | string[];
}): Promise<HttpServer> {
  const app = await createServiceApp({
    log,
    registry,
    checks,
    optionalChecks,
    trustProxy,
    openApi: { title: 'lambdarec serving', description: 'Recommendations per user (batch view + live session) and similar items.' },
  });
  await app.register(recommendationsRoutes, { recommender });
  await app.register(itemsRoutes, { recommender });
  return app;
}

/** What serving reads from its configuration; the clients' URLs, host and port stay with main.ts. */
export type ServingSettings = Omit<ServingConfig, 'DATABASE_URL' | 'REDIS_URL' | 'HOST' | 'PORT' | 'LOG_LEVEL'>;

export interface ServingOptions {
  /** Borrowed: whoever created it closes it. */
  pool: PgPool;
  /** Borrowed: whoever created it closes it. */
  redis: Redis;
  config: ServingSettings;
  log: Logger;
  registry: Registry;
  /**
   * Users whose batch lists are kept in memory, compactly (their memory per user: ADR 011).
   * @defaultValue config.USER_ITEMS_CACHE_ENTRIES
   */
  userItemsCacheEntries?: number;
}

export interface Serving {
  /** Built, not listening: main.ts listens, tests inject. */
  app: HttpServer;
  batchCache: BatchViewCache;
  /** Closes the app, then stops watching for new runs; the pool and Redis stay open. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serving's whole graph from its clients and settings: repositories, the in-memory caches, the
 * recommender and the app, with the published run read once before it answers. main.ts, the
 * tests and the bench all build serving here, so what they run is what production runs.
 */
export async function createServing({
  pool,
  redis,
  config,
  log,
  registry,
  userItemsCacheEntries = config.USER_ITEMS_CACHE_ENTRIES,
}: ServingOptions): Promise<Serving> {
  const policy = sessionPolicyFrom(config);
  const batchView = createBatchViewReader({ pool });
  const catalog = createCatalogRepository({ pool });
  const batchCache = createBatchViewCache({ batchView, catalog, refreshMs: config.BATCH_VIEW_REFRESH_MS, log });
  await batchCache.start();
  const recommender = createRecommender({
    sessions: createSessionStore({ redis, keyPrefix: config.REDIS_KEY_PREFIX, policy }),
    userItems: createUserItemsCache({ batchView, maxEntries: userItemsCacheEntries }),
    batchView,
    batchCache,
    similarItems: createSimilarItemsCache({ batchView }),
    catalog: createCatalogFactsCache({ catalog, ttlMs: config.CATALOG_CACHE_MS }),
    policy,
    log,
  });
  let app: HttpServer;
  try {
    app = await buildServingApp({
      log,
      registry,
      trustProxy: config.TRUST_PROXY,
      recommender,
      // Serving answers without either, degraded (popular items from memory, or batch-only), so
      // neither makes it unready: a 503 would take every instance out of the load balancer at once.
      optionalChecks: { postgres: () => pool.query('SELECT 1'), redis: () => redis.ping() },
    });
  } catch (err) {
    await batchCache.close();
    throw err;
  }
  const close = createCloser(log, [
    ['http server', () => app.close()],
    ['batch view cache', () => batchCache.close()],
  ]);
  return { app, batchCache, close };
}
