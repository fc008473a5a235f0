import { loginAttemptsKey } from '@lambdarec/contracts';
import { closeRedis, type RedisClient } from '@lambdarec/clients';
import { connectTestRedis, REDIS_KINDS, removeKeys, uniqueName } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedisLoginAttemptCounts } from '../src/login-attempts.js';

let redis: RedisClient;
let keyPrefix: string;

describe.each(REDIS_KINDS)('login attempt counts on %s', (kind) => {
  beforeAll(async () => {
    redis = await connectTestRedis(kind, inject('infra'));
    keyPrefix = `${uniqueName('login')}:`;
  });

  afterAll(async () => {
    await removeKeys(redis, `${keyPrefix}*`);
    await closeRedis(redis);
  });

  it('counts per address and window, shared by every instance, with an expiry on the key', async () => {
    const [a, b] = [createRedisLoginAttemptCounts({ redis, keyPrefix }), createRedisLoginAttemptCounts({ redis, keyPrefix })];
    expect(await a.increment('203.0.113.7', 100, 61_000)).toBe(1);
    expect(await b.increment('203.0.113.7', 100, 61_000)).toBe(2);
    expect(await a.increment('198.51.100.1', 100, 61_000)).toBe(1);
    expect(await a.increment('203.0.113.7', 101, 61_000)).toBe(1);
    const ttl = await redis.pttl(loginAttemptsKey(keyPrefix, '203.0.113.7', 100));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(61_000);
  });

  it('gives an attempt back, and never creates a key without an expiry for a window already gone', async () => {
    const counts = createRedisLoginAttemptCounts({ redis, keyPrefix: `${keyPrefix}back:` });
    await counts.increment('::1', 7, 61_000);
    await counts.increment('::1', 7, 61_000);
    await counts.decrement('::1', 7);
    expect(await counts.increment('::1', 7, 61_000)).toBe(2);
    await counts.decrement('::1', 8);
    expect(await redis.exists(loginAttemptsKey(`${keyPrefix}back:`, '::1', 8))).toBe(0);
  });
});
