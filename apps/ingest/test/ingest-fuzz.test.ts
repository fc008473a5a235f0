import { createKafka, createPgPool, type PgPool } from '@lambdarec/clients';
import { type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository, runMigrations } from '@lambdarec/stores';
import { createTestDatabase, createTestTopic, testLogger, type TestDatabase, type TestTopic } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildIngestApp } from '../src/app.js';
import { createEventPublisher, type EventPublisher } from '../src/event-publisher.js';

// Generated hostile input against the real app, Postgres and Kafka: whatever a client sends, the
// answer is never a 5xx. `npm run fuzz` goes further from the OpenAPI documents; this keeps a
// seeded slice of it in every test run.
const log = testLogger('ingest-fuzz');
const KEY = 'ingest-fuzz-catalog-key';
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
let publisher: EventPublisher;
let app: HttpServer;

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 1 });
  db = await createTestDatabase(databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'ingest-fuzz' });
  publisher = createEventPublisher({
    kafka: createKafka({ brokers: kafkaBrokers, clientId: 'ingest-fuzz', log }),
    topic: topic.topic,
    log,
  });
  await publisher.start();
  app = await buildIngestApp({
    log,
    publisher,
    catalog: createCatalogRepository({ pool }),
    catalogApiKey: KEY,
    registry: createMetricsRegistry('ingest-fuzz'),
    checks: {},
  });
});

afterAll(async () => {
  await app?.close();
  await publisher?.close();
  await pool?.end();
  await db?.drop();
  await topic?.remove();
});

/** A small seeded generator (xorshift), so a failure names a seed that reproduces it. */
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const nastyChars = [
    '\u0000',
    '\u0001',
    '\u001f',
    '\t',
    '\n',
    '\r',
    '\ud800',
    '\udc00',
    '\ud83d\ude00',
    '\u2028',
    '"',
    '\\',
    "'",
    'é',
    ' ',
    'a',
    'Z',
    '9',
    '-',
    '.',
    ':',
  ];
  const text = (): string => Array.from({ length: Math.floor(next() * 12) }, () => pick(nastyChars)).join('');
  const numbers = [0, -0, -1, 1, 0.5, 5e-324, 1e-310, 2.2250738585072014e-308, 1e-9, 1e15, 1e16, 1e308, Number.MAX_SAFE_INTEGER, -1e308];
  const value = (depth = 0): unknown => {
    switch (Math.floor(next() * (depth > 1 ? 6 : 8))) {
      case 0:
        return text();
      case 1:
        return pick(numbers);
      case 2:
        return next() < 0.5;
      case 3:
        return null;
      case 4:
        return 'x'.repeat(Math.floor(next() * 600));
      case 5:
        return '2025-01-01T00:00:00Z';
      case 6:
        return Array.from({ length: Math.floor(next() * 3) }, () => value(depth + 1));
      default:
        return { [text()]: value(depth + 1) };
    }
  };
  /**
   * A record whose fields mostly have the right type with hostile content (what gets past a type
   * check and reaches the database), and now and then a field of any shape at all.
   */
  const record = (fields: Readonly<Record<string, () => unknown>>) => {
    const out: Record<string, unknown> = {};
    for (const [field, plausible] of Object.entries(fields)) {
      const roll = next();
      if (roll < 0.75) out[field] = plausible();
      else if (roll < 0.85) out[field] = value();
    }
    if (next() < 0.05) out[text()] = value();
    return out;
  };
  const id = () => (next() < 0.9 ? `id-${Math.floor(next() * 1000)}` : text());
  const nonEmptyText = () => `${text()}x`;
  return { next, pick, value, record, text, nonEmptyText, id, number: () => pick(numbers), bool: () => next() < 0.5 };
}

type Generator = ReturnType<typeof generator>;
const productFields = (g: Generator) => ({ productId: g.id, category: g.nonEmptyText, title: g.text, price: g.number, inStock: g.bool });
const eventFields = (g: Generator) => ({
  userId: g.id,
  sessionId: g.text,
  type: () => g.pick(['view', 'click', 'add_to_cart', 'purchase']),
  productId: g.id,
  category: g.nonEmptyText,
  timestamp: () =>
    g.pick(['1970-01-01T00:00:00Z', '1999-12-31T23:59:59Z', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00+14:00', 'not a date']),
  value: g.number,
});

describe('hostile input', () => {
  it('PUT /products never answers 5xx to 300 generated bodies', async () => {
    const gen = generator(20261127);
    for (let i = 0; i < 300; i++) {
      const body =
        gen.next() < 0.1 ? gen.value() : Array.from({ length: 1 + Math.floor(gen.next() * 3) }, () => gen.record(productFields(gen)));
      const res = await app.inject({
        method: 'PUT',
        url: '/products',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      expect(res.statusCode, `case ${i}: ${JSON.stringify(body)} → ${res.body}`).toBeLessThan(500);
    }
  });

  it('POST /events never answers 5xx to 300 generated bodies', async () => {
    const gen = generator(424242);
    for (let i = 0; i < 300; i++) {
      const body =
        gen.next() < 0.1 ? gen.value() : Array.from({ length: 1 + Math.floor(gen.next() * 3) }, () => gen.record(eventFields(gen)));
      const res = await app.inject({
        method: 'POST',
        url: '/events',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      expect(res.statusCode, `case ${i}: ${JSON.stringify(body)} → ${res.body}`).toBeLessThan(500);
    }
  });
});
