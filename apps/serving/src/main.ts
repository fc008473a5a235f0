import { closeRedis, createPgPool, createRedis, runService } from '@lambdarec/clients';
import { servingConfigSchema, sessionPolicyFrom } from '@lambdarec/config';
import { createMetricsRegistry } from '@lambdarec/http';
import { createBatchViewRepository, createCatalogRepository, createSessionStore } from '@lambdarec/stores';
import { buildServingApp } from './app.js';
import { createBatchViewCache } from './batch-view-cache.js';
import { createCatalogFactsCache, createSimilarItemsCache } from './read-caches.js';
import { createRecommender } from './recommender.js';

await runService({
  name: 'serving',
  schema: servingConfigSchema,
  env: process.env,
  async start(config, log, defer) {
    // Serving only reads, and must start (and answer, degraded) even while Postgres is down:
    // the writers, ingest and batch, apply migrations.
    // A stalled Postgres must degrade answers, not hold them: queries give up after 2 s.
    const pool = createPgPool({ url: config.DATABASE_URL, log, applicationName: 'lambdarec-serving', max: 20, queryTimeoutMs: 2_000 });
    defer('postgres', () => pool.end());
    const redis = createRedis({ url: config.REDIS_URL, log, purpose: 'requests' });
    defer('redis', () => closeRedis(redis));
    const policy = sessionPolicyFrom(config);
    const batchView = createBatchViewRepository({ pool });
    const catalog = createCatalogRepository({ pool });
    const batchCache = createBatchViewCache({ batchView, catalog, refreshMs: config.BATCH_VIEW_REFRESH_MS, log });
    await batchCache.start();
    defer('batch view cache', () => batchCache.close());
    const app = await buildServingApp({
      log,
      registry: createMetricsRegistry('serving'),
      trustProxy: config.TRUST_PROXY,
      recommender: createRecommender({
        sessions: createSessionStore({ redis, keyPrefix: config.REDIS_KEY_PREFIX, policy }),
        batchView,
        batchCache,
        similarItems: createSimilarItemsCache({ batchView }),
        catalog: createCatalogFactsCache({ catalog, ttlMs: config.CATALOG_CACHE_MS }),
        policy,
        log,
      }),
      checks: { postgres: () => pool.query('SELECT 1'), redis: () => redis.ping() },
    });
    defer('http server', () => app.close());
    await app.listen({ port: config.PORT, host: config.HOST });
  },
});
