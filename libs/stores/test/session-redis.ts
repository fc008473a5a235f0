import { createRedis, type Redis } from '@lambdarec/clients';
import { testLogger, uniqueName } from '@lambdarec/testing';
import { afterAll, beforeAll, inject } from 'vitest';
import type { SessionWrite } from '../src/session-store.js';

// Set by useSessionRedis() for the test file that calls it: each test file has its own instance of this module,
// and so its own key prefix.
export let redis: Redis;
export let keyPrefix: string;

/** A Redis connection and a key prefix of the calling test file's own, whose keys go when the file is done. */
export function useSessionRedis(): void {
  beforeAll(() => {
    redis = createRedis({ url: inject('infra').redisUrl, log: testLogger('test'), purpose: 'requests' });
    keyPrefix = `${uniqueName('test')}:`;
  });

  afterAll(async () => {
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
}

/** A view of p1 in shoes by u1, now, unless `overrides` say otherwise. */
export const signal = (overrides: Partial<SessionWrite> = {}): SessionWrite => ({
  eventId: crypto.randomUUID(),
  userId: 'u1',
  type: 'view',
  productId: 'p1',
  category: 'shoes',
  at: Date.now(),
  ...overrides,
});
