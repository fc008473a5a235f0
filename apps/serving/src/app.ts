import { createCloser, createFallbackQueryable, type Logger, type PgPool, type Queryable, type RedisClient } from '@lambdarec/clients';
import { sessionPolicyFrom, type ServingConfig } from '@lambdarec/config';
import { createServiceApp, type HttpServer, type ReadinessCheck } from '@lambdarec/http';
import { Counter, type Registry } from '@lambdarec/metrics';
import { DEFAULT_BATCH_POLICY } from '@lambdarec/domain';
import {
  createBatchViewReader,
  createCatalogRepository,
  createExperimentRepository,
  createRunHistoryReader,
  createSessionStore,
} from '@lambdarec/stores';
import { createBatchViewCache, type BatchViewCache } from './caches/batch-view-cache.js';
import { createCatalogFactsCache } from './caches/catalog-facts-cache.js';
import { createExperimentCache, type ExperimentCache, type ExperimentSource } from './caches/experiment-cache.js';
import { createRunRankerCache, type RunRankerCache } from './caches/run-ranker-cache.js';
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
export type ServingSettings = Omit<
  ServingConfig,
  'DATABASE_URL' | 'DATABASE_READ_URL' | 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'HOST' | 'PORT' | 'LOG_LEVEL'
>;

export interface ServingOptions {
  /** The primary. Borrowed: whoever created it closes it. */
  pool: PgPool;
  /**
   * A hot standby to read the batch view and the catalog from; a read it fails goes to `pool`.
   * Borrowed: whoever created it closes it. @defaultValue none: every read goes to `pool`
   */
  readPool?: PgPool;
  /** After a read failed on `readPool`, how long reads skip it before it is checked again. @defaultValue 5000 */
  standbyRetryMs?: number;
  /** Borrowed: whoever created it closes it. */
  redis: RedisClient;
  config: ServingSettings;
  log: Logger;
  registry: Registry;
  /**
   * Users whose batch lists are kept in memory, compactly (their memory per user: ADR 011).
   * @defaultValue config.USER_ITEMS_CACHE_ENTRIES
   */
  userItemsCacheEntries?: number;
  /** Where the running experiment is read. @defaultValue the experiments table on the primary */
  experimentSource?: ExperimentSource;
}

export interface Serving {
  /** Built, not listening: main.ts listens, tests inject. */
  app: HttpServer;
  batchCache: BatchViewCache;
  /** The running experiment as serving last read it; tests refresh it rather than wait. */
  experiments: ExperimentCache;
  /** The published run's ranker for re-ranking after a purchase; undefined when RERANK_AFTER_PURCHASE is off. */
  rankers: RunRankerCache | undefined;
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
  readPool,
  standbyRetryMs,
  experimentSource,
}: ServingOptions): Promise<Serving> {
  const policy = sessionPolicyFrom(config);
  // Every read below is a single statement that a standby can run. Nothing here LISTENs or needs a
  // transaction id: new runs are polled (publishedRun), catalog changes are found by snapshot.
  const standbyFirst =
    readPool === undefined
      ? undefined
      : createFallbackQueryable({
          preferred: readPool,
          fallback: pool,
          log: log.child({ component: 'read-side' }),
          registry,
          retryMs: standbyRetryMs,
        });
  const reads: Queryable = standbyFirst ?? pool;
  // A run learned of on the primary may not have reached the standby yet: its reads must say so, not read empty.
  const batchView = createBatchViewReader({ pool: reads, requireRun: standbyFirst !== undefined });
  const catalog = createCatalogRepository({ pool: reads });
  const batchCache = createBatchViewCache({ batchView, catalog, refreshMs: config.BATCH_VIEW_REFRESH_MS, log });
  await batchCache.start();
  // Read from the primary: a standby that lags would keep serving a stopped experiment.
  const experiments = createExperimentCache({
    source: experimentSource ?? createExperimentRepository({ pool }),
    policy,
    diversity: config.DIVERSITY,
    refreshMs: config.BATCH_VIEW_REFRESH_MS,
    log: log.child({ component: 'experiments' }),
  });
  await experiments.start();
  // The batch service ranks with the domain's policy; ranking a customer again must use the same.
  const runHistories = createRunHistoryReader({ pool: reads, requireRun: standbyFirst !== undefined });
  const rankers = config.RERANK_AFTER_PURCHASE
    ? createRunRankerCache({ reader: runHistories, policy: DEFAULT_BATCH_POLICY, log: log.child({ component: 'run-ranker' }) })
    : undefined;
  const reranks = new Counter({
    name: 'lrec_serving_reranks_total',
    help: 'Requests whose session held a purchase, by what became of re-ranking the user after it (ADR 017): ranked (or found all read by the run), reused (the same purchases within a minute), not-ready (no run ranker: building, retrying after a failed build, or the run kept no histories), failed (the history could not be read)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // Built in the background from the start: the first purchase after it need not wait for it.
  const published = batchCache.current();
  if (rankers !== undefined && published !== undefined) void rankers.ready(published.run.runId);
  const recommender = createRecommender({
    sessions: createSessionStore({ redis, keyPrefix: config.REDIS_KEY_PREFIX, policy }),
    userItems: createUserItemsCache({ batchView, maxEntries: userItemsCacheEntries }),
    batchView,
    batchCache,
    similarItems: createSimilarItemsCache({ batchView }),
    catalog: createCatalogFactsCache({ catalog, ttlMs: config.CATALOG_CACHE_MS }),
    policy,
    diversity: config.DIVERSITY,
    experiments,
    log,
    rerank: rankers === undefined ? undefined : { rankers, histories: runHistories, onRerank: (outcome) => reranks.inc({ outcome }) },
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
      // The standby least of all: the primary answers every read it would.
      optionalChecks: {
        postgres: () => pool.query('SELECT 1'),
        redis: () => redis.ping(),
        ...(readPool === undefined ? {} : { 'postgres-standby': () => readPool.query('SELECT 1') }),
      },
    });
  } catch (err) {
    await batchCache.close();
    await experiments.close();
    standbyFirst?.close();
    throw err;
  }
  const close = createCloser(log, [
    ['http server', () => app.close()],
    ['batch view cache', () => batchCache.close()],
    ['experiment cache', () => experiments.close()],
    ['read side', () => standbyFirst?.close()],
  ]);
  return { app, batchCache, experiments, rankers, close };
}
