import { createKafka, createPgPool, runService } from '@lambdarec/clients';
import { ingestConfigSchema } from '@lambdarec/config';
import { createMetricsRegistry } from '@lambdarec/http';
import { createCatalogRepository, runMigrations } from '@lambdarec/stores';
import { buildIngestApp } from './app.js';
import { createCatalogGate } from './catalog-gate.js';
import { createEventPublisher } from './event-publisher.js';

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
    const app = await buildIngestApp({
      log,
      publisher,
      catalog: createCatalogRepository({ pool }),
      catalogApiKey: config.CATALOG_API_KEY,
      catalogGate,
      registry: createMetricsRegistry('ingest'),
      rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
      trustProxy: config.TRUST_PROXY,
      checks: { kafka: () => publisher.ready() },
      optionalChecks: { postgres: () => pool.query('SELECT 1') },
    });
    defer('http server', () => app.close());
    await app.listen({ port: config.PORT, host: config.HOST });
  },
});
