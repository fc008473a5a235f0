import { randomUUID } from 'node:crypto';
import { createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import { servingConfigSchema } from '@lambdarec/config';
import { computeBatchModel, DEFAULT_BATCH_POLICY, type Interaction } from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/metrics';
import {
  createBatchRunsRepository,
  createBatchViewReader,
  publishWholeModel,
  runMigrations,
  type BatchViewReader,
} from '@lambdarec/stores';
import { createTestDatabase, testLogger, uniqueName, waitFor, type TestDatabase } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServing, type ServingSettings } from '../src/app.js';
import { createUserItemsCache } from '../src/caches/user-items-cache.js';
import { takeDatabaseDown } from './database-outage.js';
import { viewed } from './interactions.js';

const log = testLogger('user-items-cache');
let db: TestDatabase;
let pool: PgPool;
let redis: Redis;
let settings: ServingSettings;
let firstRun: string;

/** Tea drinkers a–d with overlapping tastes, so that every one of them has a list. */
const HISTORY: Interaction[] = [
  ...['a', 'b', 'c', 'd'].flatMap((u) => [viewed(u, 'green'), viewed(u, 'black')]),
  ...['a', 'b'].map((u) => viewed(u, 'mint')),
  ...['c', 'd'].map((u) => viewed(u, 'oolong')),
];

async function publish(history: Interaction[]): Promise<string> {
  const runs = createBatchRunsRepository({ pool });
  const runId = randomUUID();
  await runs.create({ runId, trigger: 'test' });
  await runs.markRunning(runId);
  await publishWholeModel({ pool, runs }, runId, computeBatchModel(history, Date.now(), DEFAULT_BATCH_POLICY));
  return runId;
}

/** The real repository, counting which users' lists were read from Postgres. */
function countingBatchView(): { batchView: BatchViewReader; read: string[] } {
  const real = createBatchViewReader({ pool });
  const read: string[] = [];
  return { read, batchView: { ...real, userItems: async (runId, userId) => (read.push(userId), real.userItems(runId, userId)) } };
}

beforeAll(async () => {
  const { databaseUrl, redisUrl } = inject('infra');
  db = await createTestDatabase(databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'user-items-cache-test' });
  redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
  settings = servingConfigSchema.parse({
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `${uniqueName('user-items')}:`,
    BATCH_VIEW_REFRESH_MS: '60000',
  });
  firstRun = await publish(HISTORY);
});

afterAll(async () => {
  await redis?.quit();
  await pool?.end();
  await db?.drop();
});

describe('per-user lists in memory', () => {
  it('answers what Postgres holds, reads each user once, and keeps at most maxEntries users, the least recently asked evicted', async () => {
    const { batchView, read } = countingBatchView();
    const cache = createUserItemsCache({ batchView, maxEntries: 2 });
    const stored = createBatchViewReader({ pool });
    for (const userId of ['a', 'b', 'a', 'c', 'a', 'b', 'nobody', 'nobody']) {
      expect(await cache.userItems(firstRun, userId), userId).toEqual(await stored.userItems(firstRun, userId));
    }
    // c evicted b (a had been asked for since); b evicted c; nobody (no list) is cached too.
    expect(read).toEqual(['a', 'b', 'c', 'b', 'nobody']);
    expect((await stored.userItems(firstRun, 'a')).length).toBeGreaterThan(0);
  });

  it('never answers one run with a list of another, whichever run is asked for', async () => {
    const secondRun = await publish([
      ...HISTORY,
      viewed('a', 'rooibos', 'herbal'),
      viewed('b', 'rooibos', 'herbal'),
      viewed('a', 'chamomile', 'herbal'),
    ]);
    const stored = createBatchViewReader({ pool });
    const [before, after] = [await stored.userItems(firstRun, 'a'), await stored.userItems(secondRun, 'a')];
    expect(after).not.toEqual(before);
    const { batchView, read } = countingBatchView();
    const cache = createUserItemsCache({ batchView });
    expect(await cache.userItems(firstRun, 'a')).toEqual(before);
    expect(await cache.userItems(secondRun, 'a')).toEqual(after);
    // A request still on the old run (begun before the switch) gets the old run's list, and the new run's stays right.
    expect(await cache.userItems(firstRun, 'a')).toEqual(before);
    expect(await cache.userItems(secondRun, 'a')).toEqual(after);
    expect(await cache.userItems(secondRun, 'a')).toEqual(after);
    expect(read).toEqual(['a', 'a', 'a', 'a']);
  });

  it('once a new run is published, serving answers a user it had cached with the new run only', async () => {
    const serving = await createServing({ pool, redis, config: settings, log, registry: createMetricsRegistry('user-items-switch') });
    let fresh: Awaited<ReturnType<typeof createServing>> | undefined;
    try {
      const before = (await serving.app.inject('/recommendations/c?limit=50')).json();
      const next = await publish([...HISTORY, viewed('c', 'sencha'), viewed('d', 'sencha'), viewed('c', 'matcha')]);
      await serving.batchCache.refresh();
      const after = (await serving.app.inject('/recommendations/c?limit=50')).json();
      expect(after.sources.batchRunId).toBe(next);
      expect(after.items).not.toEqual(before.items);
      // Exactly what a serving that never saw the old run answers.
      fresh = await createServing({ pool, redis, config: settings, log, registry: createMetricsRegistry('user-items-fresh') });
      const reference = (await fresh.app.inject('/recommendations/c?limit=50')).json();
      expect(reference.sources.batchRunId).toBe(next);
      expect(after.items).toEqual(reference.items);
    } finally {
      await serving.close();
      await fresh?.close();
    }
  });

  it('when Postgres goes down, a user whose list is in memory and one whose list is not both get 200, degraded ["batch"]', async () => {
    const ownPool = createPgPool({ url: db.url, log, applicationName: 'user-items-outage', queryTimeoutMs: 2_000 });
    const serving = await createServing({
      pool: ownPool,
      redis,
      config: { ...settings, BATCH_VIEW_REFRESH_MS: 100 },
      log,
      registry: createMetricsRegistry('user-items-outage'),
    });
    const cached = await serving.app.inject('/recommendations/a');
    expect(cached.json().degraded).toEqual([]);
    const bringBack = await takeDatabaseDown(inject('infra').databaseUrl, db.url);
    try {
      await waitFor(async () => ((await serving.app.inject('/recommendations/a')).json().degraded.includes('batch') ? true : undefined), {
        what: 'degraded answers once the published run cannot be checked',
      });
      for (const userId of ['a', 'b', 'someone-new']) {
        const res = await serving.app.inject(`/recommendations/${userId}`);
        expect(res.statusCode, userId).toBe(200);
        expect(res.json().degraded, userId).toEqual(['batch']);
        expect(res.json().items.length, userId).toBeGreaterThan(0);
      }
    } finally {
      await bringBack();
      await serving.close();
      await ownPool.end();
    }
  });
});
