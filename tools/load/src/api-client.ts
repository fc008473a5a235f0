import { setTimeout as sleep } from 'node:timers/promises';
import { decideRetry } from './retail-to-api.js';

/** A request that will not succeed by sending it again (400, 401, …, or 5xx after every retry). */
export class LoadRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly body: string,
  ) {
    super(message);
    this.name = 'LoadRequestError';
  }
}

/**
 * Refused for the rate limit again right after waiting for a new minute: the request may be
 * larger than the whole budget (ingest then refuses it every minute), so the caller sends it in parts.
 */
export class RateLimitedAgain extends Error {
  constructor(readonly times: number) {
    super(`refused by the rate limit ${times} times in a row`);
    this.name = 'RateLimitedAgain';
  }
}

/** The operator pressed Ctrl-C while a request waited to be sent again. */
export class Interrupted extends Error {
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'Interrupted';
  }
}

export interface Waiting {
  status: number | undefined;
  delayMs: number;
  rateLimited: boolean;
  /** The answer's text (ingest says why it limits), or the network error. */
  reason: string;
}

export interface SendOptions {
  onWait?: (waiting: Waiting) => void;
  /** Aborted: stop waiting to retry (a request already sent is still answered). */
  signal?: AbortSignal;
  /** Consecutive 429s after which RateLimitedAgain is thrown. @defaultValue Infinity */
  rateLimitedLimit?: number;
}

/**
 * Sends one request until it succeeds, waiting on 429 and backing off on 5xx or a lost answer
 * (decideRetry). Answers the 2xx body as JSON.
 */
export async function sendUntilAccepted(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  { onWait = () => undefined, signal, rateLimitedLimit = Infinity }: SendOptions = {},
): Promise<unknown> {
  let failures = 0;
  let rateLimited = 0;
  for (;;) {
    let status: number | undefined;
    let retryAfter: string | null = null;
    let text: string;
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      text = (err as Error).message;
    }
    rateLimited = status === 429 ? rateLimited + 1 : 0;
    if (status === undefined || status >= 500) failures++;
    const decision = decideRetry(status, failures, retryAfter);
    if (decision.action === 'done') return text === '' ? undefined : JSON.parse(text);
    if (decision.action === 'stop') {
      throw new LoadRequestError(
        `${init.method} ${url} answered ${status ?? 'nothing'}${status === undefined ? ` (${text})` : ''}`,
        status,
        text,
      );
    }
    if (rateLimited >= rateLimitedLimit) throw new RateLimitedAgain(rateLimited);
    onWait({ status, delayMs: decision.delayMs, rateLimited: decision.rateLimited, reason: text });
    try {
      await sleep(decision.delayMs, undefined, signal === undefined ? undefined : { signal });
    } catch (err) {
      if (signal?.aborted === true) throw new Interrupted();
      throw err;
    }
  }
}
