import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import { computeBatchModel, DEFAULT_BATCH_POLICY, type Interaction, type SessionSignal } from '@lambdarec/domain';
import { type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createBatchRunsRepository, createCatalogRepository, publishWholeModel, type SessionStore } from '@lambdarec/stores';
import { buildProduct, testLogger, waitFor, type TestDatabase } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServing, type Serving, type ServingSettings } from '../src/app.js';
import { takeDatabaseDown } from './database-outage.js';
import { openServingTestEnv, type ServingTestEnv } from './serving-env.js';

const log = testLogger('serving-test');
let env: ServingTestEnv;
let db: TestDatabase;
let pool: PgPool;
let redis: Redis;
let settings: ServingSettings;
let sessions: SessionStore;
let serving: Serving;
let app: HttpServer;
let runId: string;

const interaction = (userId: string, productId: string, category: string, type: Interaction['type'] = 'view'): Interaction => ({
  userId,
  productId,
  type,
  count: 1,
  lastAt: Date.now() - 3_600_000,
  category,
});

/** A small shop: shoes and hats; fans of s1 also like s2 and s3, hat people like h1 + h2. */
const HISTORY: Interaction[] = [
  ...['a', 'b', 'c'].flatMap((u) => [interaction(u, 's1', 'shoes'), interaction(u, 's2', 'shoes')]),
  ...['a', 'b'].map((u) => interaction(u, 's3', 'shoes')),
  ...['d', 'e', 'f'].flatMap((u) => [interaction(u, 'h1', 'hats'), interaction(u, 'h2', 'hats')]),
  interaction('c', 'h1', 'hats'),
  interaction('g', 'oos', 'shoes', 'purchase'),
  interaction('g', 's1', 'shoes', 'purchase'),
  // Tea: six buyers, four of whom bought it again. Fridges: six buyers, nobody twice.
  ...['t1', 't2', 't3', 't4', 't5', 't6'].map((u, i) => ({ ...interaction(u, 'tea', 'grocery', 'purchase'), count: i < 4 ? 3 : 1 })),
  ...['f1', 'f2', 'f3', 'f4', 'f5', 'f6'].map((u) => interaction(u, 'fridge', 'appliances', 'purchase')),
];

const signal = (userId: string, overrides: Partial<SessionSignal>): SessionSignal => ({
  eventId: randomUUID(),
  userId,
  type: 'view',
  productId: 'x',
  category: null,
  at: Date.now(),
  ...overrides,
});

async function publish(history: Interaction[]): Promise<string> {
  const runs = createBatchRunsRepository({ pool });
  const id = randomUUID();
  await runs.create({ runId: id, trigger: 'test' });
  await runs.markRunning(id);
  await publishWholeModel({ pool, runs }, id, computeBatchModel(history, Date.now(), DEFAULT_BATCH_POLICY));
  return id;
}

beforeAll(async () => {
  env = await openServingTestEnv('serving-test', log);
  ({ db, pool, redis, settings, sessions } = env);
  await createCatalogRepository({ pool }).upsert([
    buildProduct({ productId: 'oos', category: 'shoes', inStock: false }),
    buildProduct({ productId: 'h2', category: 'hats' }),
  ]);
  runId = await publish(HISTORY);
  serving = await createServing({ pool, redis, config: settings, log, registry: createMetricsRegistry('serving-test') });
  app = serving.app;
});

afterAll(async () => {
  await serving?.close();
  await env?.close();
});

const recommend = async (userId: string, query = '') => {
  const res = await app.inject(`/recommendations/${userId}${query}`);
  expect(res.statusCode).toBe(200);
  return res.json();
};

describe('GET /recommendations/:userId', () => {
  it('answers a known user from the published run, with reasons and sources', async () => {
    const body = await recommend('c');
    expect(body.sources).toMatchObject({ batchRunId: runId, session: false });
    expect(Date.parse(body.sources.batchPublishedAt)).not.toBeNaN();
    expect(body.degraded).toEqual([]);
    expect(body.items.length).toBeGreaterThan(0);
    expect(body.items[0].productId).toBe('s3');
    expect(body.items[0].reasons[0]).toMatch(/^batch:similar-to:/);
    for (const item of body.items) expect(item.reasons.length).toBeGreaterThan(0);
  });

  it('never returns out-of-stock products', async () => {
    const body = await recommend('g', '?limit=100');
    expect(body.items.map((i: { productId: string }) => i.productId)).not.toContain('oos');
  });

  it('gives an unknown user popular items', async () => {
    const body = await recommend('stranger', '?limit=3');
    expect(body.items).toHaveLength(3);
    expect(body.items.every((i: { reasons: string[] }) => i.reasons.includes('popular'))).toBe(true);
  });

  it('when a purchased item is in the batch list, it is omitted', async () => {
    const before = await recommend('c');
    const top = before.items[0].productId;
    await sessions.record([signal('c', { type: 'purchase', productId: top, category: 'shoes' })]);
    const after = await recommend('c');
    expect(after.items.map((i: { productId: string }) => i.productId)).not.toContain(top);
    expect(after.sources.session).toBe(true);
  });

  it('a just-purchased product that customers often buy again stays, saying which rule kept it', async () => {
    const before = await recommend('t1', '?limit=50');
    expect(before.items.find((i: { productId: string }) => i.productId === 'tea')?.reasons).toContain('batch:bought-before');
    await sessions.record([signal('t1', { type: 'purchase', productId: 'tea', category: 'grocery' })]);
    const after = await recommend('t1', '?limit=50');
    const tea = after.items.find((i: { productId: string }) => i.productId === 'tea');
    expect(tea?.reasons).toContain('session:bought-again-often:product');
  });

  it('a just-purchased product that customers rarely buy again is suppressed', async () => {
    const before = await recommend('f1', '?limit=50');
    expect(before.items.map((i: { productId: string }) => i.productId)).toContain('fridge');
    await sessions.record([signal('f1', { type: 'purchase', productId: 'fridge', category: 'appliances' })]);
    const after = await recommend('f1', '?limit=50');
    expect(after.items.map((i: { productId: string }) => i.productId)).not.toContain('fridge');
  });

  it('a cart brings in what is bought with the carted product, and the carted product leaves the list', async () => {
    await sessions.record([signal('carter', { type: 'add_to_cart', productId: 's1', category: 'shoes' })]);
    const body = await recommend('carter', '?limit=50');
    const ids = body.items.map((i: { productId: string }) => i.productId);
    expect(ids).not.toContain('s1');
    expect(body.items.find((i: { productId: string }) => i.productId === 's2')?.reasons).toContain('session:similar-to:s1');
  });

  it('viewing a category lifts its items', async () => {
    const before = await recommend('newcomer', '?limit=20');
    const hatBefore = before.items.find((i: { category: string }) => i.category === 'hats');
    await sessions.record([signal('newcomer', { productId: 'h9', category: 'hats' })]);
    const after = await recommend('newcomer', '?limit=20');
    const hatAfter = after.items.find((i: { productId: string }) => i.productId === hatBefore.productId);
    expect(hatAfter.score).toBeGreaterThan(hatBefore.score);
    expect(hatAfter.reasons).toContain('session:category-boost:hats');
    const rank = (body: { items: Array<{ productId: string }> }) => body.items.findIndex((i) => i.productId === hatBefore.productId);
    expect(rank(after)).toBeLessThanOrEqual(rank(before));
  });

  it('adds items similar to recently viewed products', async () => {
    await sessions.record([signal('browser', { productId: 'h1', category: 'hats' })]);
    const body = await recommend('browser');
    const h2 = body.items.find((i: { productId: string }) => i.productId === 'h2');
    expect(h2.reasons).toContain('session:similar-to:h1');
  });

  it('honours limit, category and exclude', async () => {
    const body = await recommend('a', '?limit=2&category=hats&exclude=h1');
    expect(body.items.length).toBeLessThanOrEqual(2);
    for (const item of body.items) {
      expect(item.category).toBe('hats');
      expect(item.productId).not.toBe('h1');
    }
  });

  it('answers 400 with a message for a bad userId or query', async () => {
    for (const url of [
      '/recommendations/bad%20user',
      '/recommendations/u1?limit=0',
      '/recommendations/u1?limit=101',
      '/recommendations/u1?colour=red',
    ]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().message, url).toEqual(expect.any(String));
    }
  });

  it('when Redis is down, answers batch-only with degraded ["session"], and stays ready with redis degraded', async () => {
    const deadRedis = createRedis({ url: 'redis://127.0.0.1:1', log, purpose: 'requests', options: { retryStrategy: () => null } });
    const withoutRedis = await createServing({
      pool,
      redis: deadRedis,
      config: settings,
      log,
      registry: createMetricsRegistry('serving-no-redis'),
    });
    try {
      const res = await withoutRedis.app.inject('/recommendations/c');
      expect(res.statusCode).toBe(200);
      expect(res.json().degraded).toEqual(['session']);
      expect(res.json().items.length).toBeGreaterThan(0);
      // Serving answers without Redis, so a load balancer must keep sending it traffic.
      const ready = await withoutRedis.app.inject('/readyz');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ status: 'degraded', down: [], degraded: ['redis'] });
    } finally {
      await withoutRedis.close();
      deadRedis.disconnect();
    }
  });

  it('a newly published run is served after the cache refreshes, never a mix', async () => {
    const next = await publish([...HISTORY, interaction('c', 's9', 'shoes'), interaction('a', 's9', 'shoes')]);
    await serving.batchCache.refresh();
    const body = await recommend('c');
    expect(body.sources.batchRunId).toBe(next);
  });

  it("a cold start in a category gets the category's best-sellers, asked for or browsed", async () => {
    // 150 busier products fill the shop-wide popular list (100): no sock is in it.
    const busy = Array.from({ length: 150 }, (_, i) => ['x1', 'x2', 'x3'].map((u) => interaction(u, `bulk-${i}`, 'bulk'))).flat();
    const socks = [interaction('y1', 'sock-1', 'socks'), interaction('y1', 'sock-2', 'socks'), interaction('y2', 'sock-1', 'socks')];
    const next = await publish([...HISTORY, ...busy, ...socks]);
    await serving.batchCache.refresh();
    const asked = await recommend('sock-stranger', '?category=socks');
    expect(asked.sources.batchRunId).toBe(next);
    expect(asked.items.map((i: { productId: string }) => i.productId)).toEqual(['sock-1', 'sock-2']);
    expect(asked.items[0].reasons).toEqual(['popular']);
    // Browsing a sock (one the run does not know) brings the category's best-sellers to the top.
    await sessions.record([signal('sock-browser', { productId: 'sock-new', category: 'socks' })]);
    const browsed = await recommend('sock-browser');
    expect(browsed.items[0]).toMatchObject({ productId: 'sock-1', reasons: ['popular', 'session:category-boost:socks'] });
    expect(browsed.items.map((i: { productId: string }) => i.productId)).toContain('sock-2');
    // Without the session, the same stranger sees no sock at all.
    expect((await recommend('sock-stranger')).items.map((i: { category: string }) => i.category)).not.toContain('socks');
  });
});

describe('stock changes', () => {
  it('a product that sells out leaves the answers within the catalog cache time', async () => {
    const catalog = createCatalogRepository({ pool });
    const before = await recommend('c', '?limit=20');
    const target = before.items[0].productId;
    await catalog.upsert([buildProduct({ productId: target, category: before.items[0].category, inStock: false })]);
    try {
      await waitFor(
        async () =>
          (await recommend('c', '?limit=20')).items.some((i: { productId: string }) => i.productId === target) ? undefined : true,
        {
          what: `${target} to disappear once out of stock`,
          timeoutMs: 5_000,
        },
      );
    } finally {
      await catalog.upsert([buildProduct({ productId: target, category: before.items[0].category, inStock: true })]);
    }
    await waitFor(
      async () => ((await recommend('c', '?limit=20')).items.some((i: { productId: string }) => i.productId === target) ? true : undefined),
      {
        what: `${target} to come back once in stock`,
        timeoutMs: 5_000,
      },
    );
  });

  it('a product sold out by a transaction longer than any look-back leaves the answers once it commits', async () => {
    const catalog = createCatalogRepository({ pool });
    const registry = createMetricsRegistry('serving-long-writer');
    // Asks the catalog what changed on every request, so each request is one look.
    const watching = await createServing({ pool, redis, config: { ...settings, CATALOG_CACHE_MS: 0 }, log, registry });
    const items = async () => {
      const res = await watching.app.inject('/recommendations/c?limit=20');
      expect(res.statusCode).toBe(200);
      return (res.json() as { items: Array<{ productId: string; category: string }> }).items;
    };
    const [top] = await items();
    const target = top!.productId;
    await catalog.upsert([buildProduct({ productId: target, category: top!.category, inStock: true })]);
    const writer = new pg.Client({ connectionString: db.url });
    await writer.connect();
    try {
      expect((await items()).map((i) => i.productId)).toContain(target);
      await writer.query('BEGIN');
      // now() is the writing transaction's start: stamping the row ten minutes back is what a
      // transaction open for ten minutes writes, without waiting ten minutes.
      await writer.query("UPDATE products SET in_stock = false, updated_at = now() - interval '10 minutes' WHERE product_id = $1", [
        target,
      ]);
      // Looks while it is open see the product in stock still.
      expect((await items()).map((i) => i.productId)).toContain(target);
      expect((await items()).map((i) => i.productId)).toContain(target);
      await writer.query('COMMIT');
      expect((await items()).map((i) => i.productId)).not.toContain(target);
    } finally {
      await writer.query('ROLLBACK').catch(() => undefined);
      await writer.end();
      await watching.close();
      await catalog.upsert([buildProduct({ productId: target, category: top!.category, inStock: true })]);
    }
  });
});

describe('GET /items/:productId/similar', () => {
  it('answers similar items from the published run without out-of-stock ones', async () => {
    const res = await app.inject('/items/s1/similar?limit=5');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.productId).toBe('s1');
    expect(body.items[0].productId).toBe('s2');
    expect(body.items.map((i: { productId: string }) => i.productId)).not.toContain('oos');
  });
});

describe('when Postgres is down', () => {
  it('answers popular items from memory with degraded ["batch"], still 200, and /readyz stays 200 with postgres degraded', async () => {
    const ownPool = createPgPool({ url: db.url, log, applicationName: 'serving-test-outage', queryTimeoutMs: 2_000 });
    const outage = await createServing({
      pool: ownPool,
      redis,
      config: { ...settings, BATCH_VIEW_REFRESH_MS: 100 },
      log,
      registry: createMetricsRegistry('serving-degraded'),
    });
    const servedRun = outage.batchCache.current()?.run.runId;
    expect(servedRun).toEqual(expect.any(String));
    const bringBack = await takeDatabaseDown(inject('infra').databaseUrl, db.url);
    try {
      const body = await waitFor(
        async () => {
          const res = await outage.app.inject('/recommendations/c?limit=5');
          expect(res.statusCode).toBe(200);
          const answer = res.json();
          return answer.degraded.includes('batch') ? answer : undefined;
        },
        { what: 'answers degraded once Postgres cannot be read' },
      );
      expect(body.degraded).toEqual(['batch']);
      expect(body.sources.batchRunId).toBe(servedRun);
      expect(body.items.length).toBeGreaterThan(0);
      expect(body.items.map((i: { productId: string }) => i.productId)).not.toContain('oos');
      const stranger = await outage.app.inject('/recommendations/never-asked-before');
      expect(stranger.statusCode).toBe(200);
      expect(stranger.json().degraded).toEqual(['batch']);
      expect(stranger.json().items.every((i: { reasons: string[] }) => i.reasons.includes('popular'))).toBe(true);
      const similar = await outage.app.inject('/items/never-asked-before/similar');
      expect(similar.statusCode).toBe(200);
      expect(similar.json().degraded).toEqual(['batch']);
      const ready = await outage.app.inject('/readyz');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ status: 'degraded', down: [], degraded: ['postgres'] });
    } finally {
      await bringBack();
      await outage.close();
      await ownPool.end();
    }
  });
});
