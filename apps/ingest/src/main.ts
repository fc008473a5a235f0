import { closeRedis, createKafka, createPgPool, createRedis } from '@lambdarec/clients';
import { ingestConfigSchema, redisConnectionFrom } from '@lambdarec/config';
import { runService } from '@lambdarec/lifecycle';
import { Counter, createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository, runMigrations } from '@lambdarec/stores';
import { buildIngestApp } from './app.js';
import { createCatalogGate } from './catalog-gate.js';
import { createEventPublisher } from './event-publisher.js';
import { createRedisRateLimiter } from './rate-limiter.js';

await runService({
  name: 'ingest',
  schema: ingestConfigSchema,
  env: process.env,
  async start(config, log, defer) {
    // Not awaited: events need only Kafka, so ingest starts while Postgres is down (see catalog-gate.ts).
    const catalogGate = createCatalogGate({ migrate: () => runMigrations({ databaseUrl: config.DATABASE_URL, log }), log });
    void catalogGate.ready().catch(() => undefined);
    const pool = createPgPool({ url: config.DATABASE_URL, log, applicationName: 'lambdarec-ingest' });
    defer('postgres', () => pool.end());
    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'lambdarec-ingest', log });
    const publisher = createEventPublisher({ kafka, topic: config.EVENTS_TOPIC, log });
    await publisher.start();
    defer('kafka producer', () => publisher.close());
    const redis = createRedis({ ...redisConnectionFrom(config), log, purpose: 'requests' });
    defer('redis', () => closeRedis(redis));
    const registry = createMetricsRegistry('ingest');
    const limitUnavailable = new Counter({
      name: 'lrec_rate_limit_unavailable_total',
      help: 'Requests let through unlimited because Redis could not answer the rate limiter',
      registers: [registry],
    });
    const rateLimiter = createRedisRateLimiter({
      redis,
      keyPrefix: config.REDIS_KEY_PREFIX,
      limitPerMinute: config.RATE_LIMIT_PER_MINUTE,
      log,
      onUnavailable: () => limitUnavailable.inc(),
    });
    const app = await buildIngestApp({
      log,
      publisher,
      catalog: createCatalogRepository({ pool }),
      catalogApiKey: config.CATALOG_API_KEY,
      maxEventAgeHours: config.EVENT_MAX_AGE_HOURS,
      catalogGate,
      registry,
      rateLimiter,
      storefrontOrigins: config.STOREFRONT_ORIGINS,
      writeKey: config.EVENTS_WRITE_KEY,
      trustProxy: config.TRUST_PROXY,
      checks: { kafka: () => publisher.ready() },
      optionalChecks: { postgres: () => pool.query('SELECT 1'), redis: () => redis.ping() },
    });
    defer('http server', () => app.close());
    await app.listen({ port: config.PORT, host: config.HOST });
  },
});
