import { createKafka, createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import { type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository, runMigrations } from '@lambdarec/stores';
import {
  createTestDatabase,
  createTestTopic,
  testLogger,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@lambdarec/testing';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, inject } from 'vitest';
import { buildIngestApp } from '../src/app.js';
import { createEventPublisher, type EventPublisher } from '../src/event-publisher.js';

export const log = testLogger('ingest-test');
export const CATALOG_KEY = 'ingest-test-catalog-key';
export const catalogAuth = { authorization: `Bearer ${CATALOG_KEY}` };

// Set by useIngestApp() for the test file that calls it: each test file has its own instance of this module,
// and so its own topic, database and app.
export let topic: TestTopic;
export let pool: PgPool;
export let publisher: EventPublisher;
export let app: HttpServer;
export let redis: Redis;
/** Every record on the file's topic, as the consumer reads them. */
export const received: KafkaMessage[] = [];

/** The ingest app on a topic and a database of the calling test file's own, with a consumer reading the topic into `received`. */
export function useIngestApp(): void {
  let db: TestDatabase;
  let consumer: Consumer;

  beforeAll(async () => {
    const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
    redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
    topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
    db = await createTestDatabase(databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
    pool = createPgPool({ url: db.url, log, applicationName: 'ingest-test' });
    const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'ingest-test', log });
    publisher = createEventPublisher({ kafka, topic: topic.topic, log });
    await publisher.start();
    app = await buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry('ingest-test'),
      checks: { kafka: () => publisher.ready(), postgres: () => pool.query('SELECT 1') },
    });
    consumer = kafka.consumer({ groupId: uniqueName('ingest-test') });
    await consumer.connect();
    await consumer.subscribe({ topic: topic.topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push(message) });
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await app?.close();
    await publisher?.close();
    await pool?.end();
    await redis?.quit();
    await db?.drop();
    await topic?.remove();
  });
}

export const onTopic = (eventId: string) =>
  waitFor(() => received.find((m) => JSON.parse(m.value!.toString()).eventId === eventId), { what: `event ${eventId} on the topic` });
