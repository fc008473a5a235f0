import { sessionKey } from '@lambdarec/contracts';
import { closeRedis, primariesOf, type Cluster } from '@lambdarec/clients';
import { connectTestRedis, uniqueName } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sessionsAreEmpty } from '../src/replay.js';

// A Cluster's SCAN covers the node it runs on: the check must ask every primary.
let redis: Cluster;
let keyPrefix: string;

beforeAll(async () => {
  redis = (await connectTestRedis('a Redis Cluster', inject('infra'))) as Cluster;
  keyPrefix = `${uniqueName('empty')}:`;
});

afterAll(async () => {
  await closeRedis(redis);
});

/** A user whose session key lives on that primary (`host:port`). */
async function userOn(primary: string): Promise<string> {
  for (let i = 0; ; i++) {
    const slot = Number(await redis.cluster('KEYSLOT', sessionKey(keyPrefix, `u${i}`)));
    if (redis.slots[slot]?.[0] === primary) return `u${i}`;
  }
}

describe('sessionsAreEmpty on a Redis Cluster', () => {
  it('is true under a prefix without sessions, and false when any one primary holds one', async () => {
    expect(await sessionsAreEmpty(redis, keyPrefix)).toBe(true);
    const primaries = (await primariesOf(redis)).map((node) => `${node.options.host}:${node.options.port}`);
    expect(primaries).toHaveLength(3);
    for (const primary of primaries) {
      const key = sessionKey(keyPrefix, await userOn(primary));
      await redis.set(key, 'a session', 'PX', 60_000);
      try {
        expect(await sessionsAreEmpty(redis, keyPrefix), primary).toBe(false);
      } finally {
        await redis.del(key);
      }
      expect(await sessionsAreEmpty(redis, keyPrefix)).toBe(true);
    }
  });
});
