import type { Redis } from '@lambdarec/clients';

/**
 * Every session key under the prefix (named without it) with its stored value, in key order. The
 * session encoding is canonical, so two states compare equal exactly when the speed layer would
 * read the same sessions.
 */
export async function sessionStateOf(redis: Redis, keyPrefix: string): Promise<Record<string, string>> {
  const state: Record<string, string> = {};
  for (const key of (await redis.keys(`${keyPrefix}session:*`)).sort()) {
    const value = await redis.get(key);
    if (value !== null) state[key.slice(keyPrefix.length)] = value;
  }
  return state;
}
