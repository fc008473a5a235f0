import { randomUUID } from 'node:crypto';
import { createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import { servingConfigSchema } from '@lambdarec/config';
import { computeBatchModel, DEFAULT_BATCH_POLICY, type Interaction } from '@lambdarec/domain';
import { type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createBatchRunsRepository, publishWholeModel, runMigrations } from '@lambdarec/stores';
import {
  createPrivatePostgres,
  postgresBinDir,
  restartablePort,
  testLogger,
  uniqueName,
  waitFor,
  type PrivatePostgres,
} from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServing, type Serving } from '../src/app.js';

// Fault injection: serving's Postgres of its own, killed (no checkpoint, backends gone) and started
// again under load. Answers stay 200, degraded while it is down, and recover without a restart.
const log = testLogger('serving-pg-restart');
const available = postgresBinDir() !== undefined;
let pg: PrivatePostgres;
let pool: PgPool;
let redis: Redis;
let serving: Serving;
let app: HttpServer;

const purchase = (userId: string, productId: string): Interaction => ({
  userId,
  productId,
  type: 'purchase',
  count: 2,
  lastAt: Date.now() - 3_600_000,
  category: 'tea',
});

beforeAll(async () => {
  if (!available) return;
  pg = createPrivatePostgres(restartablePort());
  await runMigrations({ databaseUrl: pg.url, log });
  pool = createPgPool({ url: pg.url, log, applicationName: 'serving-pg-restart' });
  const runs = createBatchRunsRepository({ pool });
  const runId = randomUUID();
  await runs.create({ runId, trigger: 'test' });
  await runs.markRunning(runId);
  const history = ['a', 'b', 'c', 'd'].flatMap((u) => [purchase(u, 'green'), purchase(u, 'black'), purchase(u, 'mint')]);
  await publishWholeModel({ pool, runs }, runId, computeBatchModel(history, Date.now(), DEFAULT_BATCH_POLICY));
  const { redisUrl } = inject('infra');
  redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
  // Catalog facts are read on every request (no cache time), so each one needs Postgres.
  const config = servingConfigSchema.parse({
    DATABASE_URL: pg.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `${uniqueName('pg-restart')}:`,
    BATCH_VIEW_REFRESH_MS: '200',
    CATALOG_CACHE_MS: '0',
  });
  serving = await createServing({ pool, redis, config, log, registry: createMetricsRegistry('serving-pg-restart') });
  app = serving.app;
}, 60_000);

afterAll(async () => {
  await serving?.close();
  await redis?.quit();
  await pool?.end().catch(() => undefined);
  pg?.remove();
});

describe.runIf(available)('Postgres killed and restarted under serving load', () => {
  it('answers 200 throughout, degraded ["batch"] while it is down, and recovers without a restart', async () => {
    const answers: Array<{ status: number; degraded: string[]; at: number }> = [];
    let loading = true;
    const client = async (n: number) => {
      while (loading) {
        const res = await app.inject(`/recommendations/${['a', 'b', 'stranger'][n % 3]}`);
        answers.push({
          status: res.statusCode,
          degraded: res.statusCode === 200 ? (res.json() as { degraded: string[] }).degraded : [],
          at: Date.now(),
        });
      }
    };
    const clients = Array.from({ length: 4 }, (_, n) => client(n));
    try {
      await waitFor(async () => (answers.filter((a) => a.degraded.length === 0).length > 50 ? true : undefined), {
        what: 'healthy answers first',
      });
      pg.kill();
      const killedAt = Date.now();
      await waitFor(async () => (answers.some((a) => a.at > killedAt && a.degraded.includes('batch')) ? true : undefined), {
        what: 'degraded answers',
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      pg.start();
      const restartedAt = Date.now();
      await waitFor(async () => (answers.filter((a) => a.at > restartedAt && a.degraded.length === 0).length > 20 ? true : undefined), {
        what: 'healthy answers again, without restarting serving',
        timeoutMs: 30_000,
      });
    } finally {
      loading = false;
      await Promise.all(clients);
    }
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const during = answers.filter((a) => a.degraded.includes('batch'));
    expect(during.length).toBeGreaterThan(0);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
  }, 90_000);
});
