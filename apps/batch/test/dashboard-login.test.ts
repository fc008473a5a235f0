import { createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import { createLoginThrottle, type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createBatchRunsRepository, createRedisLoginAttemptCounts } from '@lambdarec/stores';
import { removeKeys, testLogger, uniqueName } from '@lambdarec/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildBatchApp } from '../src/app.js';
import { createExperimentDependencies } from '../src/experiment-report.js';
import type { AnyBatchJobData } from '../src/jobs.js';

const log = testLogger('batch-login-test');
const credentials = { user: 'ops', password: 'batch-login-password' };
const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;
let redis: Redis;
let pool: PgPool;
let queue: Queue<AnyBatchJobData>;
let keyPrefix: string;
const apps: HttpServer[] = [];
// One minute for the whole test, however long it takes: the budget is per minute.
const testMinute = Date.now();

beforeAll(() => {
  const { redisUrl, databaseUrl } = inject('infra');
  redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
  // Refused logins never reach a route, so nothing here queries the database.
  pool = createPgPool({ url: databaseUrl, log, applicationName: 'batch-login-test' });
  queue = new Queue<AnyBatchJobData>(uniqueName('login-queue'), { connection: redis });
  keyPrefix = `${uniqueName('batch-login')}:`;
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  await pool?.end();
  await removeKeys(redis, `${keyPrefix}*`);
  await redis.quit();
});

/** One batch instance as main.ts assembles it: one login throttle, counted in Redis, for the dashboard and the runs API. */
async function batchInstance(name: string) {
  const app = await buildBatchApp({
    log,
    registry: createMetricsRegistry(name),
    checks: {},
    runs: createBatchRunsRepository({ pool }),
    queue,
    ...createExperimentDependencies({ pool, attributionHours: 24, log }),
    credentials,
    loginThrottle: createLoginThrottle({ counts: createRedisLoginAttemptCounts({ redis, keyPrefix }), now: () => testMinute }),
  });
  apps.push(app);
  return app;
}

describe('the dashboard against password guessing', () => {
  it('gives a client address 10 failed logins a minute over Bull Board and the runs API of every instance, then 429 with Retry-After', async () => {
    const [a, b] = [await batchInstance('batch-login-a'), await batchInstance('batch-login-b')];
    const attempt = (app: HttpServer, url: string, password: string, remoteAddress = '203.0.113.21') =>
      app.inject({
        method: url === 'POST /batch/runs' ? 'POST' : 'GET',
        url: url.replace(/^POST /, ''),
        headers: { authorization: basic(password) },
        remoteAddress,
      });
    expect((await attempt(a, '/admin/queues', credentials.password)).statusCode).toBe(200);
    const guesses: Array<[HttpServer, string]> = [
      [a, '/admin/queues'],
      [a, '/batch/runs'],
      [a, 'POST /batch/runs'],
      [b, '/admin/queues'],
      [b, `/batch/runs/${crypto.randomUUID()}`],
    ];
    for (let i = 0; i < 10; i++) {
      const [app, url] = guesses[i % guesses.length]!;
      expect((await attempt(app, url, `guess-${i}`)).statusCode, `guess ${i} on ${url}`).toBe(401);
    }
    for (const [app, url] of guesses) {
      const refused = await attempt(app, url, credentials.password);
      expect(refused.statusCode, url).toBe(429);
      expect(Number(refused.headers['retry-after']), url).toBeGreaterThan(0);
    }
    expect((await attempt(b, '/admin/queues', credentials.password, '198.51.100.21')).statusCode).toBe(200);
  });
});
