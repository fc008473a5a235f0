import { scanKeys, type RedisClient } from '@lambdarec/clients';

/**
 * Every session key under the prefix (named without it) with its stored value, in key order. The
 * session encoding is canonical, so two states compare equal exactly when the speed layer would
 * read the same sessions. On a Cluster the keys come from every primary.
 */
export async function sessionStateOf(redis: RedisClient, keyPrefix: string): Promise<Record<string, string>> {
  const keys: string[] = [];
  for await (const page of scanKeys(redis, `${keyPrefix}session:*`)) keys.push(...page);
  const state: Record<string, string> = {};
  for (const key of keys.sort()) {
    const value = await redis.get(key);
    if (value !== null) state[key.slice(keyPrefix.length)] = value;
  }
  return state;
}
