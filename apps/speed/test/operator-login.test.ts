import { createRedis, type Redis } from '@lambdarec/clients';
import { DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { createLoginThrottle, type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createRedisLoginAttemptCounts, createSessionStore } from '@lambdarec/stores';
import { removeKeys, testLogger, uniqueName } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildSpeedApp } from '../src/app.js';

const log = testLogger('speed-login-test');
const credentials = { user: 'ops', password: 'correct-horse' };
const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;
let redis: Redis;
let keyPrefix: string;
const apps: HttpServer[] = [];

beforeAll(() => {
  redis = createRedis({ url: inject('infra').redisUrl, log, purpose: 'requests' });
  keyPrefix = `${uniqueName('speed-login')}:`;
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await removeKeys(redis, `${keyPrefix}*`);
  await redis.quit();
});

// One minute for the whole test, however long it takes: the budget is per minute.
const testMinute = Date.now();

/** One speed instance as main.ts assembles its operator view: the login throttle counts in Redis. */
async function speedInstance(name: string) {
  const app = await buildSpeedApp({
    log,
    registry: createMetricsRegistry(name),
    checks: {},
    sessions: createSessionStore({ redis, keyPrefix, policy: DEFAULT_SESSION_POLICY }),
    credentials,
    loginThrottle: createLoginThrottle({ counts: createRedisLoginAttemptCounts({ redis, keyPrefix }), now: () => testMinute }),
  });
  apps.push(app);
  return app;
}

describe('the operator view against password guessing', () => {
  it('gives a client address 10 failed logins a minute across speed instances, then 429 with Retry-After even for the right password', async () => {
    const [a, b] = [await speedInstance('speed-login-a'), await speedInstance('speed-login-b')];
    const guess = (app: HttpServer, password: string, remoteAddress = '203.0.113.9') =>
      app.inject({ url: '/sessions/someone', headers: { authorization: basic(password) }, remoteAddress });
    expect((await guess(a, 'correct-horse')).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await guess(a, `guess-${i}`)).statusCode).toBe(401);
    for (let i = 5; i < 10; i++) expect((await guess(b, `guess-${i}`)).statusCode).toBe(401);
    for (const app of [a, b]) {
      const refused = await guess(app, 'correct-horse');
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json().code).toBe('LREC_RATE_LIMITED');
    }
    expect((await guess(b, 'correct-horse', '198.51.100.4')).statusCode).toBe(200);
  });
});
