import { ERROR_CODES, LrecError } from '@lambdarec/contracts';
import type { Logger, RedisClient } from '@lambdarec/clients';

export interface RateLimiter {
  /**
   * Takes `amount` (events, products) from the client's budget for the current minute, or throws
   * 429 with Retry-After when it would go over. Nothing is taken from a refused request.
   */
  consume(client: string, amount: number): Promise<void>;
  /**
   * Takes `amount` whatever is left, never refusing: a body that turned out invalid still cost
   * the server its reading, so a client cannot make ingest parse megabytes for free.
   */
  charge(client: string, amount: number): Promise<void>;
  /**
   * Throws 429 with Retry-After at once when this process has seen the client spend its whole
   * budget this minute: called before the body is read. Other instances learn it at the client's
   * next request to them.
   */
  refuseIfSpent(client: string): void;
}

/** No limit (a service without Redis, tests). */
export const NO_RATE_LIMIT: RateLimiter = { consume: async () => undefined, charge: async () => undefined, refuseIfSpent: () => undefined };

// Check and take in one step, so concurrent requests on several ingest instances never overspend.
// Answers whether it took, and the minute's total after it.
const TAKE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if current + amount > tonumber(ARGV[2]) then return {0, current} end
local total = redis.call('INCRBY', KEYS[1], amount)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, total}`;

const CHARGE = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return total`;

/** Clients this process knows to have spent their budget; past it, the one marked longest ago is forgotten. */
const MAX_SPENT_CLIENTS = 10_000;

const WINDOW_MS = 60_000;

/**
 * A per-client budget of items a minute, shared by every ingest instance through Redis (one key
 * per client and minute, gone a minute later). It counts events, not requests: 500 events in one
 * request spend 500, valid or not (`charge`). If Redis cannot answer, requests are let through
 * (and counted in a metric): losing the limit for a while degrades protection, refusing events
 * would lose data.
 */
export function createRedisRateLimiter({
  redis,
  keyPrefix,
  limitPerMinute,
  log,
  onUnavailable,
  now = Date.now,
}: {
  redis: RedisClient;
  keyPrefix: string;
  limitPerMinute: number;
  log: Logger;
  onUnavailable?: () => void;
  now?: () => number;
}): RateLimiter {
  let lastWarning = 0;
  /** Client → end of the minute whose budget it spent. */
  const spentUntil = new Map<string, number>();
  const unavailable = (err: unknown, at: number) => {
    onUnavailable?.();
    if (at - lastWarning > 10_000) {
      lastWarning = at;
      log.warn({ err }, 'rate limit unavailable (Redis); letting requests through');
    }
  };
  const noteTotal = (client: string, window: number, total: number) => {
    if (total < limitPerMinute) return;
    spentUntil.delete(client);
    if (spentUntil.size >= MAX_SPENT_CLIENTS) spentUntil.delete(spentUntil.keys().next().value!);
    spentUntil.set(client, (window + 1) * WINDOW_MS);
  };
  const limited = (message: (retryAfterSeconds: number) => string, at: number) => {
    const retryAfterSeconds = Math.max(1, Math.ceil(((Math.floor(at / WINDOW_MS) + 1) * WINDOW_MS - at) / 1000));
    return new LrecError(ERROR_CODES.RATE_LIMITED, message(retryAfterSeconds), { statusCode: 429, retriable: true, retryAfterSeconds });
  };
  const exceeded = (retryAfterSeconds: number) =>
    `rate limit of ${limitPerMinute} items a minute exceeded; retry in ${retryAfterSeconds} s`;
  return {
    async consume(client, amount) {
      const at = now();
      const window = Math.floor(at / WINDOW_MS);
      let answer: unknown;
      try {
        answer = await redis.eval(
          TAKE,
          1,
          `${keyPrefix}rate:${client}:${window}`,
          String(amount),
          String(limitPerMinute),
          String(WINDOW_MS + 1_000),
        );
      } catch (err) {
        unavailable(err, at);
        return;
      }
      const [taken, total] = (answer as [number, number | string]).map(Number) as [number, number];
      noteTotal(client, window, total);
      if (taken === 1) return;
      throw limited(
        (retryAfterSeconds) =>
          amount > limitPerMinute
            ? `one request of ${amount} items is over the limit of ${limitPerMinute} a minute; send smaller requests`
            : exceeded(retryAfterSeconds),
        at,
      );
    },
    async charge(client, amount) {
      const at = now();
      const window = Math.floor(at / WINDOW_MS);
      try {
        noteTotal(
          client,
          window,
          Number(await redis.eval(CHARGE, 1, `${keyPrefix}rate:${client}:${window}`, String(amount), String(WINDOW_MS + 1_000))),
        );
      } catch (err) {
        unavailable(err, at);
      }
    },
    refuseIfSpent(client) {
      const until = spentUntil.get(client);
      if (until === undefined) return;
      const at = now();
      if (at >= until) {
        spentUntil.delete(client);
        return;
      }
      throw limited(exceeded, at);
    },
  };
}
