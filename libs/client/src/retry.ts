/** When and how long to wait before sending the same request again: pure, so it is tested on its own. */

export interface BackoffPolicy {
  /** The first wait; each further one doubles. */
  baseDelayMs: number;
  /** No computed wait is longer (a server's Retry-After may be). */
  maxDelayMs: number;
}

/**
 * Seconds or an HTTP date, as Retry-After allows, in milliseconds from `now`; undefined when
 * absent or unreadable, so that the backoff decides.
 */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface RetryCircumstances {
  /** Which retry of this kind this is, from 1: failures, or rate limits in a row. */
  retry: number;
  /** The answer was 429: the budget comes back at a known time. */
  rateLimited: boolean;
  /** The server's Retry-After, in milliseconds. */
  serverDelayMs: number | undefined;
}

/**
 * Exponential backoff with "equal jitter": half the doubled delay for sure, the other half at
 * random, so that many shoppers' pages cut off by the same outage do not come back in step. A
 * Retry-After is a floor: the server knows when it can take the request. A 429 with Retry-After
 * waits just that (plus up to one base delay of spread): the budget is back then, and waiting
 * longer only slows a bulk import down.
 */
export function retryDelayMs(
  { retry, rateLimited, serverDelayMs }: RetryCircumstances,
  { baseDelayMs, maxDelayMs }: BackoffPolicy,
  random: () => number = Math.random,
): number {
  if (rateLimited && serverDelayMs !== undefined) return Math.round(serverDelayMs + random() * baseDelayMs);
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.round(Math.max(serverDelayMs ?? 0, jittered));
}

/** Waits, or rejects with the signal's reason as soon as it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
