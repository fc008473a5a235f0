import { loginAttemptsKey } from '@lambdarec/contracts';
import type { Redis } from '@lambdarec/clients';

// Counting and setting the expiry in one step: a key can never be left without one.
const INCREMENT = `
local attempts = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return attempts`;
// Only while the window's key lives: a late give-back must not leave a key without an expiry.
const DECREMENT = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 0`;

/**
 * Dashboard login attempts per client address and window, in Redis, so that every instance of a
 * service spends one budget: a guesser gains nothing by spreading attempts over instances. The
 * shape of `LoginAttemptCounts` (@lambdarec/http), which its login throttle takes.
 */
export function createRedisLoginAttemptCounts({ redis, keyPrefix }: { redis: Redis; keyPrefix: string }) {
  return {
    async increment(client: string, window: number, ttlMs: number): Promise<number> {
      return Number(await redis.eval(INCREMENT, 1, loginAttemptsKey(keyPrefix, client, window), String(ttlMs)));
    },
    async decrement(client: string, window: number): Promise<void> {
      await redis.eval(DECREMENT, 1, loginAttemptsKey(keyPrefix, client, window));
    },
  };
}
