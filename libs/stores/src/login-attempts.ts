import { loginAttemptsKey } from '@lambdarec/contracts';
import type { RedisClient } from '@lambdarec/clients';
import { redisScript } from './redis-scripts.js';

/**
 * Dashboard login attempts per client address and window, in Redis, so that every instance of a
 * service spends one budget: a guesser gains nothing by spreading attempts over instances. The
 * shape of `LoginAttemptCounts` (@lambdarec/http), which its login throttle takes.
 */
export function createRedisLoginAttemptCounts({ redis, keyPrefix }: { redis: RedisClient; keyPrefix: string }) {
  const count = redisScript('count-login-attempt');
  const giveBack = redisScript('give-back-login-attempt');
  return {
    async increment(client: string, window: number, ttlMs: number): Promise<number> {
      return Number(await redis.eval(count, 1, loginAttemptsKey(keyPrefix, client, window), String(ttlMs)));
    },
    async decrement(client: string, window: number): Promise<void> {
      await redis.eval(giveBack, 1, loginAttemptsKey(keyPrefix, client, window));
    },
  };
}
