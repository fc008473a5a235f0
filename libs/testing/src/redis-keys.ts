import { isCluster, scanKeys, type RedisClient } from '@lambdarec/clients';

/**
 * Removes the keys matching a pattern: a test's, a bench's or an isolated system's, on a shared
 * Redis. On a Cluster one key per UNLINK: the keys a node holds are in many slots, and a
 * command's keys must share one.
 */
export async function removeKeys(redis: RedisClient, pattern: string): Promise<void> {
  for await (const keys of scanKeys(redis, pattern)) {
    if (isCluster(redis)) await Promise.all(keys.map((key) => redis.unlink(key)));
    else await redis.unlink(...keys);
  }
}

/** How many keys match a pattern (on a Cluster, over every primary). */
export async function countKeys(redis: RedisClient, pattern: string): Promise<number> {
  let count = 0;
  for await (const keys of scanKeys(redis, pattern)) count += keys.length;
  return count;
}
