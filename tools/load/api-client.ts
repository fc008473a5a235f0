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

export interface Waiting {
  status: number | undefined;
  delayMs: number;
  rateLimited: boolean;
  /** The answer's text (ingest says why it limits), or the network error. */
  reason: string;
}

/**
 * Sends one request until it succeeds, waiting on 429 and backing off on 5xx or a lost answer
 * (decideRetry). Answers the 2xx body as JSON.
 */
export async function sendUntilAccepted(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  onWait: (waiting: Waiting) => void = () => undefined,
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
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
    const decision = decideRetry(status, attempt, retryAfter);
    if (decision.action === 'done') return text === '' ? undefined : JSON.parse(text);
    if (decision.action === 'stop') {
      throw new LoadRequestError(`${init.method} ${url} answered ${status ?? 'nothing'}${status === undefined ? ` (${text})` : ''}`, status, text);
    }
    onWait({ status, delayMs: decision.delayMs, rateLimited: decision.rateLimited, reason: text });
    await sleep(decision.delayMs);
  }
}
