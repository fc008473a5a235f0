import { ERROR_CODES, LrecError } from '@lambdarec/contracts';

/**
 * Where login attempts are counted: one number per client address and fixed window, forgotten
 * after the window. Redis shares it across instances (createRedisLoginAttemptCounts in stores).
 */
export interface LoginAttemptCounts {
  /** Counts one more attempt of the client in `window` and answers the window's count with it; kept at least `ttlMs`. */
  increment(client: string, window: number, ttlMs: number): Promise<number>;
  /** Takes one attempt back (it was a successful login). */
  decrement(client: string, window: number, ttlMs: number): Promise<void>;
}

export interface LoginAttempt {
  /** The password was right: the attempt does not count against the client. */
  succeeded(): void;
}

export interface LoginThrottle {
  /**
   * Counts an attempt before its password is checked, or throws 429 with Retry-After when the
   * client has used up this window's attempts: its password is then not checked at all.
   */
  attempt(client: string): Promise<LoginAttempt>;
}

export interface LoginThrottleOptions {
  /** Counts shared by every instance (Redis). @defaultValue this process's memory alone */
  counts?: LoginAttemptCounts;
  /** Failed logins a client address may make in a window. @defaultValue 10 */
  maxFailures?: number;
  /** @defaultValue 60000 */
  windowMs?: number;
  /** Told, at most once every 10 s, that the shared counts did not answer and this process's own are used. */
  onUnavailable?: (err: unknown) => void;
  /** @defaultValue Date.now */
  now?: () => number;
}

/**
 * Per-process counts, for a service without Redis and as the fallback while Redis is down. Holds
 * at most `maxClients` addresses; past it, the address counted longest ago is forgotten first.
 */
export function createMemoryLoginAttemptCounts({ maxClients = 10_000 }: { maxClients?: number } = {}): LoginAttemptCounts {
  const counts = new Map<string, { window: number; attempts: number }>();
  return {
    async increment(client, window) {
      const entry = counts.get(client);
      if (entry !== undefined && entry.window === window) return ++entry.attempts;
      // Re-inserted, so that the Map's order stays the order of the windows: the first is the stalest.
      counts.delete(client);
      if (counts.size >= maxClients) counts.delete(counts.keys().next().value!);
      counts.set(client, { window, attempts: 1 });
      return 1;
    },
    async decrement(client, window) {
      const entry = counts.get(client);
      if (entry !== undefined && entry.window === window && entry.attempts > 0) entry.attempts--;
    },
  };
}

/**
 * Slows down password guessing: a client address gets `maxFailures` attempts a window, after
 * which it is answered 429 without a password check until the window ends. An attempt is
 * counted before the check and given back when the password was right, so that parallel
 * guesses cannot all pass a check of the count before any of them is recorded, and successful
 * logins never use up the budget.
 */
export function createLoginThrottle({
  counts,
  maxFailures = 10,
  windowMs = 60_000,
  onUnavailable,
  now = Date.now,
}: LoginThrottleOptions = {}): LoginThrottle {
  const local = createMemoryLoginAttemptCounts();
  const ttlMs = windowMs + 1_000;
  let lastTold = -Infinity;
  const unavailable = (err: unknown) => {
    if (now() - lastTold < 10_000) return;
    lastTold = now();
    onUnavailable?.(err);
  };
  return {
    async attempt(client) {
      const at = now();
      const window = Math.floor(at / windowMs);
      // Shared counts that fail fall back to this process's own: guessing stays slowed, per instance.
      let store = counts ?? local;
      let attempts: number;
      try {
        attempts = await store.increment(client, window, ttlMs);
      } catch (err) {
        if (store === local) throw err;
        unavailable(err);
        store = local;
        attempts = await local.increment(client, window, ttlMs);
      }
      if (attempts > maxFailures) {
        const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * windowMs - at) / 1000));
        throw new LrecError(ERROR_CODES.RATE_LIMITED, `too many failed logins from this address; retry in ${retryAfterSeconds} s`, {
          statusCode: 429,
          retriable: true,
          retryAfterSeconds,
        });
      }
      return {
        // Not awaited: a successful login does not wait for the bookkeeping.
        succeeded: () => void store.decrement(client, window, ttlMs).catch(unavailable),
      };
    },
  };
}
