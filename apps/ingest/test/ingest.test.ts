import { createKafka, createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import { HISTORY_IMPORT_HEADER } from '@lambdarec/contracts';
import { type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository, runMigrations } from '@lambdarec/stores';
import {
  buildClickEvent,
  buildProduct,
  createTestDatabase,
  createTestTopic,
  testLogger,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@lambdarec/testing';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildIngestApp } from '../src/app.js';
import { createEventPublisher, type EventPublisher } from '../src/event-publisher.js';
import { createRedisRateLimiter, type RateLimiter } from '../src/rate-limiter.js';

const log = testLogger('ingest-test');
const CATALOG_KEY = 'ingest-test-catalog-key';
const catalogAuth = { authorization: `Bearer ${CATALOG_KEY}` };
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
let publisher: EventPublisher;
let app: HttpServer;
let consumer: Consumer;
let redis: Redis;
const received: KafkaMessage[] = [];

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

const onTopic = (eventId: string) =>
  waitFor(() => received.find((m) => JSON.parse(m.value!.toString()).eventId === eventId), { what: `event ${eventId} on the topic` });

describe('POST /events', () => {
  it('accepts one event, assigns its eventId and timestamp, and produces it keyed by userId', async () => {
    const before = Date.now();
    const res = await app.inject({ method: 'POST', url: '/events', payload: { userId: 'u-1', type: 'view', productId: 'p-1' } });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.accepted).toBe(1);
    expect(body.eventIds).toHaveLength(1);
    const message = await onTopic(body.eventIds[0]);
    expect(message.key?.toString()).toBe('u-1');
    const event = JSON.parse(message.value!.toString());
    expect(event).toMatchObject({ eventId: body.eventIds[0], userId: 'u-1', type: 'view', productId: 'p-1' });
    expect(Date.parse(event.timestamp)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('accepts an array and {"events": [...]}, keeping given eventIds', async () => {
    const given = buildClickEvent({ userId: 'u-2' });
    const asArray = await app.inject({ method: 'POST', url: '/events', payload: [given, buildClickEvent({ userId: 'u-2' })] });
    expect(asArray.statusCode).toBe(202);
    expect(asArray.json().eventIds[0]).toBe(given.eventId);
    const wrapped = await app.inject({
      method: 'POST',
      url: '/events',
      payload: { events: [buildClickEvent({ userId: 'u-3', type: 'purchase' })] },
    });
    expect(wrapped.statusCode).toBe(202);
    expect(wrapped.json().accepted).toBe(1);
    await onTopic(given.eventId);
    await onTopic(wrapped.json().eventIds[0]);
  });

  it('acknowledges many concurrent requests, and every event lands on the topic exactly once', async () => {
    const requests = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 5 }, (_, j) => buildClickEvent({ userId: `conc-${i % 7}`, productId: `p-${j}` })),
    );
    const answers = await Promise.all(requests.map((events) => app.inject({ method: 'POST', url: '/events', payload: events })));
    expect(answers.map((a) => a.statusCode)).toEqual(requests.map(() => 202));
    const ids = new Set(requests.flat().map((e) => e.eventId));
    await waitFor(() => (received.filter((m) => ids.has(JSON.parse(m.value!.toString()).eventId)).length >= ids.size ? true : undefined), {
      what: 'all 200 events on the topic',
    });
    // A marker sent afterwards: once it arrived, any duplicate would have too (same partitions, in order).
    const markers = await app.inject({
      method: 'POST',
      url: '/events',
      payload: Array.from({ length: 7 }, (_, i) => buildClickEvent({ userId: `conc-${i}`, productId: 'marker' })),
    });
    for (const id of markers.json().eventIds as string[]) await onTopic(id);
    const arrived = received.map((m) => JSON.parse(m.value!.toString()).eventId as string).filter((id) => ids.has(id));
    expect(arrived).toHaveLength(ids.size);
    expect(new Set(arrived).size).toBe(ids.size);
  });

  it('rejects a batch with a bad event with 400 naming index and field, and produces none of it', async () => {
    const good = buildClickEvent({ userId: 'u-4' });
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      payload: [good, { userId: 'bad user!', type: 'view', productId: 'p' }, { userId: 'u-4', type: 'like', productId: 'p' }],
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('LREC_INVALID_EVENT');
    expect(body.issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: [1, 'userId'] }), expect.objectContaining({ path: [2, 'type'] })]),
    );
    // A later accepted event shows the consumer is past where the rejected one would be.
    const marker = await app.inject({ method: 'POST', url: '/events', payload: buildClickEvent({ userId: 'u-4' }) });
    await onTopic(marker.json().eventIds[0]);
    expect(received.some((m) => JSON.parse(m.value!.toString()).eventId === good.eventId)).toBe(false);
  });

  it('rejects malformed JSON with 400, more than 500 events with 413, a body over 1 MiB with 413', async () => {
    const malformed = await app.inject({
      method: 'POST',
      url: '/events',
      headers: { 'content-type': 'application/json' },
      payload: '{"userId":',
    });
    expect(malformed.statusCode).toBe(400);
    const tooMany = await app.inject({ method: 'POST', url: '/events', payload: Array.from({ length: 501 }, () => buildClickEvent()) });
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json().message).toMatch(/at most 500/);
    const huge = await app.inject({
      method: 'POST',
      url: '/events',
      payload: [buildClickEvent({ sessionId: 'x'.repeat(100) }), { pad: 'y'.repeat(1024 * 1024) }],
    });
    expect(huge.statusCode).toBe(413);
  });

  it('rejects a timestamp more than 5 minutes in the future', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      payload: buildClickEvent({ timestamp: new Date(Date.now() + 10 * 60_000).toISOString() }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues[0].path).toEqual(['timestamp']);
  });

  it('answers 503 with Retry-After when Kafka cannot take the events', async () => {
    const kafka = createKafka({
      brokers: inject('infra').kafkaBrokers,
      clientId: 'ingest-test-503',
      log,
      config: { retry: { retries: 0 } },
    });
    const missingTopic = createEventPublisher({ kafka, topic: uniqueName('t.missing'), log, sendTimeoutMs: 2_000 });
    await missingTopic.start();
    const broken = await buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher: missingTopic,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry('ingest-test-503'),
      checks: { kafka: () => missingTopic.ready() },
    });
    try {
      const res = await broken.inject({ method: 'POST', url: '/events', payload: buildClickEvent() });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().code).toBe('LREC_BROKER_UNAVAILABLE');
      const ready = await broken.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().down).toEqual(['kafka']);
    } finally {
      await broken.close();
      await missingTopic.close();
    }
  });
});

describe('storable events only', () => {
  it('answers 400 for a NUL in category, a lone surrogate, a pre-2000 timestamp or an unstorable value, and produces none of them', async () => {
    const bad = [
      buildClickEvent({ category: 'sho\u0000es' }),
      buildClickEvent({ sessionId: 'abc\ud800' }),
      buildClickEvent({ timestamp: '1970-01-01T00:00:00Z' }),
      buildClickEvent({ value: 5e-324 }),
    ];
    const res = await app.inject({ method: 'POST', url: '/events', payload: bad });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues.map((issue: { path: unknown[] }) => issue.path)).toEqual([
      [0, 'category'],
      [1, 'sessionId'],
      [2, 'timestamp'],
      [3, 'value'],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ids = new Set(bad.map((e) => e.eventId));
    expect(received.filter((m) => ids.has(JSON.parse(m.value!.toString()).eventId))).toEqual([]);
  });
});

describe('how far back an event may be dated', () => {
  const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 3_600_000).toISOString();

  it('answers 400 naming the field for an event dated 8 days ago, and accepts one dated 2 days ago', async () => {
    const stale = buildClickEvent({ timestamp: daysAgo(8) });
    const refused = await app.inject({ method: 'POST', url: '/events', payload: [buildClickEvent(), stale] });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().issues).toEqual([expect.objectContaining({ path: [1, 'timestamp'] })]);
    expect(refused.json().message).toMatch(/^1\.timestamp: more than 168 hours ago; history imports authenticate with the operator key/);
    const recent = await app.inject({ method: 'POST', url: '/events', payload: buildClickEvent({ timestamp: daysAgo(2) }) });
    expect(recent.statusCode).toBe(202);
    const message = await onTopic(recent.json().eventIds[0]);
    expect(message.headers?.[HISTORY_IMPORT_HEADER]).toBeUndefined();
  });

  it('with the operator key, takes a history import dated back to 2010, and its records carry the history-import header', async () => {
    const old = buildClickEvent({ userId: 'importer', timestamp: '2010-12-01T08:26:00.000Z' });
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      headers: catalogAuth,
      payload: { events: [old, buildClickEvent({ userId: 'importer', timestamp: daysAgo(8) })] },
    });
    expect(res.statusCode).toBe(202);
    const message = await onTopic(old.eventId);
    expect(message.headers?.[HISTORY_IMPORT_HEADER]?.toString()).toBe('1');
    expect(JSON.parse(message.value!.toString()).timestamp).toBe('2010-12-01T08:26:00.000Z');
  });

  it('answers 401 to a wrong key or another scheme, even for a recent event (never the open path)', async () => {
    for (const authorization of ['Bearer not-the-operator-key', `Basic ${Buffer.from(`admin:${CATALOG_KEY}`).toString('base64')}`]) {
      const res = await app.inject({ method: 'POST', url: '/events', headers: { authorization }, payload: buildClickEvent() });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('LREC_UNAUTHORIZED');
    }
  });
});

describe('a bounded publisher queue', () => {
  it('answers 503 with Retry-After at once when too many events wait for the broker, and accepts again after', async () => {
    const kafka = createKafka({ brokers: inject('infra').kafkaBrokers, clientId: 'ingest-test-queue', log });
    const tiny = createEventPublisher({ kafka, topic: topic.topic, log, maxQueuedBytes: 1 });
    await tiny.start();
    const bounded = await buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher: tiny,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry('ingest-test-queue'),
      checks: {},
    });
    try {
      // One send in flight, one request waiting behind it: the rest find the queue full.
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => bounded.inject({ method: 'POST', url: '/events', payload: buildClickEvent() })),
      );
      const codes = answers.map((res) => res.statusCode);
      expect(codes.filter((code) => code === 202).length).toBeGreaterThanOrEqual(2);
      const full = answers.filter((res) => res.statusCode === 503);
      expect(full.length).toBeGreaterThan(0);
      for (const res of full) {
        expect(res.headers['retry-after']).toBe('1');
        expect(res.json().code).toBe('LREC_BROKER_UNAVAILABLE');
      }
      expect((await bounded.inject({ method: 'POST', url: '/events', payload: buildClickEvent() })).statusCode).toBe(202);
    } finally {
      await bounded.close();
      await tiny.close();
    }
  });
});

describe('browsers and the write key', () => {
  const SHOP = 'https://shop.example';

  it('answers the storefront origin with CORS headers on POST /events and its preflight, and nobody else', async () => {
    const open = await buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry('ingest-test-cors'),
      checks: {},
      storefrontOrigins: [SHOP],
    });
    try {
      const preflight = await open.inject({
        method: 'OPTIONS',
        url: '/events',
        headers: { origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(SHOP);
      expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');
      const posted = await open.inject({ method: 'POST', url: '/events', headers: { origin: SHOP }, payload: buildClickEvent() });
      expect(posted.statusCode).toBe(202);
      expect(posted.headers['access-control-allow-origin']).toBe(SHOP);
      const stranger = await open.inject({
        method: 'POST',
        url: '/events',
        headers: { origin: 'https://evil.example' },
        payload: buildClickEvent(),
      });
      expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
      const catalogPreflight = await open.inject({
        method: 'OPTIONS',
        url: '/products',
        headers: { origin: SHOP, 'access-control-request-method': 'PUT' },
      });
      expect(catalogPreflight.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await open.close();
    }
  });

  it('with a write key set, POST /events needs X-Write-Key: 401 without or with a wrong one', async () => {
    const keyed = await buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry('ingest-test-key'),
      checks: {},
      writeKey: 'storefront-key',
    });
    try {
      expect((await keyed.inject({ method: 'POST', url: '/events', payload: buildClickEvent() })).statusCode).toBe(401);
      expect(
        (await keyed.inject({ method: 'POST', url: '/events', headers: { 'x-write-key': 'nope' }, payload: buildClickEvent() })).json()
          .code,
      ).toBe('LREC_UNAUTHORIZED');
      expect(
        (await keyed.inject({ method: 'POST', url: '/events', headers: { 'x-write-key': 'storefront-key' }, payload: buildClickEvent() }))
          .statusCode,
      ).toBe(202);
    } finally {
      await keyed.close();
    }
  });
});

describe('rate limiting', () => {
  const limiterFor = (keyPrefix: string, limitPerMinute: number, client: Redis = redis) =>
    createRedisRateLimiter({ redis: client, keyPrefix, limitPerMinute, log });
  const appWith = (rateLimiter: RateLimiter, name: string) =>
    buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry(name),
      checks: {},
      rateLimiter,
    });
  const post = (target: HttpServer, count: number) =>
    target.inject({ method: 'POST', url: '/events', payload: Array.from({ length: count }, () => buildClickEvent()) });

  it('counts events, not requests: 429 with Retry-After once a client is over its events a minute, and keeps health reachable', async () => {
    const limited = await appWith(limiterFor(`${uniqueName('rl')}:`, 5), 'ingest-test-429');
    try {
      expect((await post(limited, 3)).statusCode).toBe(202);
      const refused = await post(limited, 3);
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'LREC_RATE_LIMITED' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      // A refused request spends nothing: two more events still fit.
      expect((await post(limited, 2)).statusCode).toBe(202);
      expect((await post(limited, 1)).statusCode).toBe(429);
      expect((await limited.inject('/healthz')).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('an invalid body spends its events too, a malformed one 1, and a client whose budget is spent gets 429 before its body is parsed', async () => {
    const limited = await appWith(limiterFor(`${uniqueName('rl-invalid')}:`, 5), 'ingest-test-rl-invalid');
    const bad = (count: number) => Array.from({ length: count }, () => ({ ...buildClickEvent(), type: 'like' }));
    const postBody = (payload: unknown) => limited.inject({ method: 'POST', url: '/events', payload: payload as object });
    const malformed = () =>
      limited.inject({ method: 'POST', url: '/events', headers: { 'content-type': 'application/json' }, payload: '{"userId":' });
    try {
      expect((await postBody(bad(3))).statusCode).toBe(400);
      // 3 of 5 spent by the invalid request: 3 valid events are over the budget.
      expect((await post(limited, 3)).statusCode).toBe(429);
      expect((await malformed()).statusCode).toBe(400);
      // 4 spent: 2 are over, 1 fits.
      expect((await post(limited, 2)).statusCode).toBe(429);
      expect((await post(limited, 1)).statusCode).toBe(202);
      // All 5 spent: the next body is refused unread (parsed, it would be a 400).
      const refused = await malformed();
      expect(refused.statusCode).toBe(429);
      expect(refused.json().code).toBe('LREC_RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it('shares one budget across ingest instances', async () => {
    const prefix = `${uniqueName('rl-shared')}:`;
    const [a, b] = [await appWith(limiterFor(prefix, 4), 'ingest-test-rl-a'), await appWith(limiterFor(prefix, 4), 'ingest-test-rl-b')];
    try {
      expect((await post(a, 3)).statusCode).toBe(202);
      expect((await post(b, 2)).statusCode).toBe(429);
      expect((await post(b, 1)).statusCode).toBe(202);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('lets events through when Redis cannot answer (losing the limit, not the events)', async () => {
    const dead = createRedis({ url: 'redis://127.0.0.1:1', log, purpose: 'requests', options: { retryStrategy: () => null } });
    const unlimited = await appWith(limiterFor('dead:', 1, dead), 'ingest-test-rl-dead');
    try {
      expect((await post(unlimited, 3)).statusCode).toBe(202);
    } finally {
      await unlimited.close();
      dead.disconnect();
    }
  });
});

describe('PUT /products', () => {
  it('answers 401 without the catalog API key, with a wrong one or another scheme, and stores nothing', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer not-the-key-at-all' },
      { authorization: `Basic ${Buffer.from(`x:${CATALOG_KEY}`).toString('base64')}` },
      { authorization: CATALOG_KEY },
    ]) {
      const res = await app.inject({
        method: 'PUT',
        url: '/products',
        headers,
        payload: [buildProduct({ productId: 'intruder', inStock: false })],
      });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.json().code).toBe('LREC_UNAUTHORIZED');
    }
    expect((await createCatalogRepository({ pool }).facts(['intruder'])).size).toBe(0);
  });

  it('upserts products into the catalog', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/products',
      headers: catalogAuth,
      payload: { products: [buildProduct({ productId: 'pp-1' }), buildProduct({ productId: 'pp-2', inStock: false })] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ upserted: 2 });
    const facts = await createCatalogRepository({ pool }).facts(['pp-1', 'pp-2']);
    expect(facts.get('pp-2')?.inStock).toBe(false);
  });

  it('rejects a bad product with 400 naming the field', async () => {
    const res = await app.inject({ method: 'PUT', url: '/products', headers: catalogAuth, payload: [{ productId: 'ok-1', price: -3 }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/price/);
  });

  it('answers a type error with 400 naming the product and field, in both body forms', async () => {
    const inArray = await app.inject({
      method: 'PUT',
      url: '/products',
      headers: catalogAuth,
      payload: [{ productId: 'pt-1', price: 'abc' }],
    });
    expect(inArray.statusCode).toBe(400);
    expect(inArray.json()).toMatchObject({
      code: 'LREC_INVALID_PRODUCT',
      message: '0.price: Invalid input: expected number, received string',
      issues: [{ path: [0, 'price'], message: 'Invalid input: expected number, received string' }],
    });
    const wrapped = await app.inject({
      method: 'PUT',
      url: '/products',
      headers: catalogAuth,
      payload: { products: [{ productId: 'pt-1', inStock: 'no' }] },
    });
    expect(wrapped.statusCode).toBe(400);
    expect(wrapped.json()).toMatchObject({
      code: 'LREC_INVALID_PRODUCT',
      message: 'products.0.inStock: Invalid input: expected boolean, received string',
      issues: [{ path: ['products', 0, 'inStock'], message: 'Invalid input: expected boolean, received string' }],
    });
    expect((await createCatalogRepository({ pool }).facts(['pt-1'])).has('pt-1')).toBe(false);
  });

  it('rejects a body that is neither a list nor {"products": [...]} with 400', async () => {
    const res = await app.inject({ method: 'PUT', url: '/products', headers: catalogAuth, payload: { productId: 'pt-2' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'LREC_INVALID_PRODUCT', issues: [{ path: [] }] });
  });

  it('answers 413 for 1,001 products and stores none of them', async () => {
    const products = Array.from({ length: 1001 }, (_, i) => ({ productId: `pl-${i}` }));
    const res = await app.inject({ method: 'PUT', url: '/products', headers: catalogAuth, payload: products });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'LREC_PAYLOAD_TOO_LARGE', issues: [{ path: [] }] });
    expect((await createCatalogRepository({ pool }).facts(['pl-0'])).has('pl-0')).toBe(false);
  });

  it('when a price-only update arrives, a sold-out product stays sold out and keeps its category', async () => {
    const put = (payload: object) => app.inject({ method: 'PUT', url: '/products', headers: catalogAuth, payload });
    expect((await put([{ productId: 'pp-3', category: 'tea', inStock: false }])).statusCode).toBe(200);
    expect((await put([{ productId: 'pp-3', price: 9 }])).json()).toEqual({ upserted: 1 });
    expect((await createCatalogRepository({ pool }).facts(['pp-3'])).get('pp-3')).toEqual({ category: 'tea', inStock: false });
  });
});

describe('operations', () => {
  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json().dependencies).toEqual({ kafka: { status: 'up' }, postgres: { status: 'up' } });
    const metrics = await app.inject('/metrics');
    expect(metrics.body).toMatch(/lrec_events_accepted_total\{type="view",service="ingest-test"\} \d+/);
    const openapi = (await app.inject('/docs/json')).json();
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/events', '/products']));
  });
});
