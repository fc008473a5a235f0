import { ERROR_CODES, LrecError } from '@lambdarec/contracts';
import type { Logger, Redis } from '@lambdarec/clients';

export interface RateLimiter {
  /**
   * Takes `amount` (events, products) from the client's budget for the current minute, or throws
   * 429 with Retry-After when it would go over. Nothing is taken from a refused request.
   */
  consume(client: string, amount: number): Promise<void>;
}

// Check and take in one step, so concurrent requests on several ingest instances never overspend.
const TAKE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if current + amount > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], amount)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

const WINDOW_MS = 60_000;

/**
 * A per-client budget of items a minute, shared by every ingest instance through Redis (one key
 * per client and minute, gone a minute later). It counts events, not requests: 500 events in one
 * request spend 500. If Redis cannot answer, requests are let through (and counted in a metric):
 * losing the limit for a while degrades protection, refusing events would lose data.
 */
export function createRedisRateLimiter({
  redis,
  keyPrefix,
  limitPerMinute,
  log,
  onUnavailable,
  now = Date.now,
}: {
  redis: Redis;
  keyPrefix: string;
  limitPerMinute: number;
  log: Logger;
  onUnavailable?: () => void;
  now?: () => number;
}): RateLimiter {
  let lastWarning = 0;
  return {
    async consume(client, amount) {
      const at = now();
      const window = Math.floor(at / WINDOW_MS);
      let taken: unknown;
      try {
        taken = await redis.eval(TAKE, 1, `${keyPrefix}rate:${client}:${window}`, String(amount), String(limitPerMinute), String(WINDOW_MS + 1_000));
      } catch (err) {
        onUnavailable?.();
        if (at - lastWarning > 10_000) {
          lastWarning = at;
          log.warn({ err }, 'rate limit unavailable (Redis); letting requests through');
        }
        return;
      }
      if (taken === 1) return;
      const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - at) / 1000));
      throw new LrecError(
        ERROR_CODES.RATE_LIMITED,
        amount > limitPerMinute
          ? `one request of ${amount} items is over the limit of ${limitPerMinute} a minute; send smaller requests`
          : `rate limit of ${limitPerMinute} items a minute exceeded; retry in ${retryAfterSeconds} s`,
        { statusCode: 429, retriable: true, retryAfterSeconds },
      );
    },
  };
}
