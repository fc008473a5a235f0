import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import { servingConfigSchema, sessionPolicyFrom } from '@lambdarec/config';
import { computeBatchModel, DEFAULT_BATCH_POLICY, groupByUser, type Interaction } from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/metrics';
import {
  createBatchRunsRepository,
  createCatalogRepository,
  createSessionStore,
  publishWholeModel,
  runMigrations,
} from '@lambdarec/stores';
import { buildProduct, createTestDatabase, testLogger, uniqueName, waitFor, type TestDatabase } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServing, type Serving, type ServingSettings } from '../src/app.js';
import { takeDatabaseDown } from './database-outage.js';
import { viewed } from './interactions.js';

// Serving with a read side (DATABASE_READ_URL). A second database of the same server stands in for
// the standby: it holds other content, so every answer shows which server it came from.
const log = testLogger('serving-standby');
let primaryDb: TestDatabase;
let standinDb: TestDatabase;
let primary: PgPool;
let standin: PgPool;
let redis: Redis;
let settings: ServingSettings;
let primaryRun: string;
let standinRun: string;
const opened: Array<{ serving: Serving; readPool: PgPool; primaryPool: PgPool }> = [];

/** The same shop on both, under other product ids: user c's top item is `<prefix>3`. */
const shop = (prefix: string): Interaction[] => [
  ...['a', 'b', 'c'].flatMap((u) => [viewed(u, `${prefix}1`, 'shoes'), viewed(u, `${prefix}2`, 'shoes')]),
  ...['a', 'b'].map((u) => viewed(u, `${prefix}3`, 'shoes')),
  ...['d', 'e'].map((u) => viewed(u, `${prefix}4`, 'shoes')),
];

async function publish(pool: PgPool, history: Interaction[]): Promise<string> {
  const runs = createBatchRunsRepository({ pool });
  const runId = randomUUID();
  await runs.create({ runId, trigger: 'test' });
  await runs.markRunning(runId);
  // With the histories, as the batch service keeps them: serving re-ranks after a purchase with them.
  const model = computeBatchModel(history, Date.now(), DEFAULT_BATCH_POLICY);
  await publishWholeModel({ pool, runs }, runId, model, {}, undefined, groupByUser(history));
  return runId;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startServing(readUrl: string, { standbyRetryMs = 5_000, refreshMs = 60_000 } = {}) {
  const registry = createMetricsRegistry(uniqueName('serving-standby'));
  const readPool = createPgPool({ url: readUrl, log, applicationName: 'serving-standby-reads', queryTimeoutMs: 2_000 });
  const primaryPool = createPgPool({ url: primaryDb.url, log, applicationName: 'serving-standby', queryTimeoutMs: 2_000 });
  const serving = await createServing({
    pool: primaryPool,
    readPool,
    redis,
    config: { ...settings, BATCH_VIEW_REFRESH_MS: refreshMs },
    log,
    registry,
    standbyRetryMs,
  });
  opened.push({ serving, readPool, primaryPool });
  const fallbacks = async () => {
    const text = await registry.getSingleMetricAsString('lrec_postgres_read_fallbacks_total');
    return Object.fromEntries([...text.matchAll(/reason="([^"]+)"[^}]*} (\d+)/g)].map(([, reason, n]) => [reason!, Number(n)]));
  };
  return { serving, app: serving.app, fallbacks };
}

const ids = (body: { items: Array<{ productId: string }> }) => body.items.map((i) => i.productId);

beforeAll(async () => {
  const { databaseUrl, redisUrl } = inject('infra');
  const migrate = (url: string) => runMigrations({ databaseUrl: url, log });
  [primaryDb, standinDb] = await Promise.all([createTestDatabase(databaseUrl, migrate), createTestDatabase(databaseUrl, migrate)]);
  primary = createPgPool({ url: primaryDb.url, log, applicationName: 'serving-standby-setup' });
  standin = createPgPool({ url: standinDb.url, log, applicationName: 'serving-standby-setup' });
  redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
  settings = servingConfigSchema.parse({ DATABASE_URL: primaryDb.url, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `${uniqueName('standby')}:` });
  // The stand-in's run is published first: it is the older one, as on a standby that lags.
  standinRun = await publish(standin, shop('s'));
  primaryRun = await publish(primary, shop('p'));
  // Only the stand-in's catalog knows s2 is sold out.
  await createCatalogRepository({ pool: standin }).upsert([buildProduct({ productId: 's2', category: 'shoes', inStock: false })]);
});

afterAll(async () => {
  for (const { serving, readPool, primaryPool } of opened) {
    await serving.close();
    await readPool.end();
    await primaryPool.end();
  }
  await redis?.quit();
  await primary?.end();
  await standin?.end();
  await primaryDb?.drop();
  await standinDb?.drop();
});

describe('serving with DATABASE_READ_URL', () => {
  it('reads the published run, its lists and the catalog from the read database', async () => {
    const { app, fallbacks } = await startServing(standinDb.url);
    const body = (await app.inject('/recommendations/c?limit=10')).json();
    expect(body.sources.batchRunId).toBe(standinRun);
    expect(body.degraded).toEqual([]);
    expect(ids(body)[0]).toBe('s3');
    expect(ids(body)).not.toContain('s2'); // sold out in the read database's catalog only
    expect(ids(body).some((id) => id.startsWith('p'))).toBe(false);
    const similar = (await app.inject('/items/s1/similar')).json();
    expect(ids(similar)).toContain('s3');
    expect(ids(similar)).not.toContain('s2');
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', down: [], dependencies: { 'postgres-standby': { status: 'up' } } });
    expect(await fallbacks()).toEqual({});
  });

  it('a standby that refuses connections: the primary answers, the fallbacks are counted, and /readyz is 200 with postgres-standby degraded', async () => {
    const { app, fallbacks } = await startServing(`postgres://lambdarec:lambdarec@127.0.0.1:${await closedPort()}/lambdarec`);
    for (let i = 0; i < 5; i++) {
      const body = (await app.inject('/recommendations/c')).json();
      expect(body.sources.batchRunId).toBe(primaryRun);
      expect(body.degraded).toEqual([]);
      expect(ids(body)[0]).toBe('p3');
    }
    const counted = await fallbacks();
    expect(counted.unavailable).toBe(1); // then skipped while it is checked in the background
    expect(counted.skipped).toBeGreaterThan(0);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'degraded', down: [], degraded: ['postgres-standby'] });
  });

  it('a standby that accepts connections and never answers costs one read its timeout, not every request', async () => {
    const held: net.Socket[] = [];
    const stalled = net.createServer((socket) => held.push(socket)).listen(0, '127.0.0.1');
    await new Promise((resolve) => stalled.once('listening', resolve));
    try {
      const { port } = stalled.address() as net.AddressInfo;
      const { app, fallbacks } = await startServing(`postgres://lambdarec:lambdarec@127.0.0.1:${port}/lambdarec`);
      const started = Date.now();
      for (let i = 0; i < 20; i++) {
        const body = (await app.inject(`/recommendations/${i % 2 === 0 ? 'c' : 'stranger'}`)).json();
        expect(body.sources.batchRunId).toBe(primaryRun);
        expect(body.degraded).toEqual([]);
      }
      // Each read would wait out the 3 s connection timeout without the short circuit.
      expect(Date.now() - started).toBeLessThan(1_500);
      expect((await fallbacks()).skipped).toBeGreaterThan(0);
    } finally {
      for (const socket of held) socket.destroy();
      stalled.close();
    }
  }, 30_000);

  it('with the standby and the primary both down, answers from memory with degraded ["batch"], as with one server', async () => {
    const { app } = await startServing(standinDb.url, { refreshMs: 100 });
    const admin = inject('infra').databaseUrl;
    const bringBackStandin = await takeDatabaseDown(admin, standinDb.url);
    const bringBackPrimary = await takeDatabaseDown(admin, primaryDb.url);
    try {
      const body = await waitFor(
        async () => {
          const answer = (await app.inject('/recommendations/never-asked?limit=3')).json();
          return answer.degraded.includes('batch') ? answer : undefined;
        },
        { what: 'answers degraded once neither server can be read' },
      );
      expect(body.degraded).toEqual(['batch']);
      expect(body.sources.batchRunId).toBe(standinRun);
      expect(body.items.length).toBeGreaterThan(0);
      expect(body.items.every((i: { reasons: string[] }) => i.reasons.includes('popular'))).toBe(true);
      const ready = await app.inject('/readyz');
      expect(ready.statusCode).toBe(200);
      expect(ready.json().degraded).toEqual(expect.arrayContaining(['postgres', 'postgres-standby']));
    } finally {
      await bringBackPrimary();
      await bringBackStandin();
    }
  });

  it('never goes back to an older run when the standby lags, and reads a run the standby lacks from the primary', async () => {
    // The standby is down at start: serving learns of the primary's newer run there.
    const bringBackStandin = await takeDatabaseDown(inject('infra').databaseUrl, standinDb.url);
    const { serving, app, fallbacks } = await startServing(standinDb.url, { standbyRetryMs: 100 });
    expect(serving.batchCache.current()?.run.runId).toBe(primaryRun);
    await bringBackStandin();
    // Back, but behind: it still shows its older publication.
    await waitFor(async () => ((await app.inject('/readyz')).json().status === 'ready' ? true : undefined), { what: 'standby back' });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the background check has let reads go to it again
    await serving.batchCache.refresh();
    expect(serving.batchCache.current()?.run.runId).toBe(primaryRun);
    const body = (await app.inject('/recommendations/c')).json();
    expect(body.sources.batchRunId).toBe(primaryRun);
    expect(body.degraded).toEqual([]);
    expect(ids(body)[0]).toBe('p3'); // the primary's list, not an empty one from the standby
    expect((await fallbacks()).behind).toBeGreaterThan(0);

    // The run's ranker too is read from the primary, and a purchase ranks the customer again.
    expect(await serving.rankers!.ready(primaryRun)).toMatchObject({ customers: 5 });
    const sessions = createSessionStore({ redis, keyPrefix: settings.REDIS_KEY_PREFIX, policy: sessionPolicyFrom(settings) });
    await sessions.record([{ eventId: randomUUID(), userId: 'c', type: 'purchase', productId: 'p4', category: 'shoes', at: Date.now() }]);
    const afterPurchase = (await app.inject('/recommendations/c')).json();
    expect(afterPurchase.degraded).toEqual([]);
    expect(ids(afterPurchase)).not.toContain('p4');
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(/^lrec_serving_reranks_total\{[^}]*outcome="ranked"[^}]*\} 1$/m);
  });
});
