import type { Redis } from 'ioredis';

/** Every key of a Redis server matching a pattern, a SCAN page at a time (never KEYS: it blocks the server). */
async function* scanKeys(redis: Redis, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) yield keys;
    cursor = next;
  } while (cursor !== '0');
}

/** Removes the keys matching a pattern: a test's, a bench's or an isolated system's, on a shared Redis. */
export async function removeKeys(redis: Redis, pattern: string): Promise<void> {
  for await (const keys of scanKeys(redis, pattern)) await redis.unlink(...keys);
}

/** How many keys match a pattern. */
export async function countKeys(redis: Redis, pattern: string): Promise<number> {
  let count = 0;
  for await (const keys of scanKeys(redis, pattern)) count += keys.length;
  return count;
}
