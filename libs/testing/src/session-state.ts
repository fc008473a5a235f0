import type { Redis } from '@lambdarec/clients';

/**
 * Every session key under the prefix (named without it) with its sorted set, scores included, in
 * key order: two states compare equal exactly when the speed layer would read the same sessions.
 */
export async function sessionStateOf(redis: Redis, keyPrefix: string): Promise<Record<string, string[]>> {
  const state: Record<string, string[]> = {};
  for (const key of (await redis.keys(`${keyPrefix}session:*`)).sort()) state[key.slice(keyPrefix.length)] = await redis.zrange(key, '0', '-1', 'WITHSCORES');
  return state;
}
