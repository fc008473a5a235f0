import { closeRedis, type RedisClient } from '@lambdarec/clients';
import { connectTestRedis, removeKeys, uniqueName, type RedisKind } from '@lambdarec/testing';
import { afterAll, beforeAll, inject } from 'vitest';
import type { SessionWrite } from '../src/session-store.js';

// Set by useSessionRedis() for the suite that calls it: each test file has its own instance of this module,
// and so its own key prefix; suites of one file (one per kind of Redis) run one after the other.
export let redis: RedisClient;
export let keyPrefix: string;

/** A Redis connection (one server unless told) and a key prefix of the calling suite's own, whose keys go when it is done. */
export function useSessionRedis(kind: RedisKind = 'one Redis server'): void {
  beforeAll(async () => {
    redis = await connectTestRedis(kind, inject('infra'));
    keyPrefix = `${uniqueName('test')}:`;
  });

  afterAll(async () => {
    await removeKeys(redis, `${keyPrefix}*`);
    await closeRedis(redis);
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
