import { CLIENT_ERROR_CODES, errorFromResponse, LambdarecError } from './errors.js';
import { retryAfterMs, retryDelayMs, sleep, type BackoffPolicy } from './retry.js';
import type { EventsAccepted, SentEvent } from './types.js';

/** A retry about to happen, for logs and progress lines. */
export interface RetryNotice {
  /** What went wrong: the service's error (429, 503, …) or LREC_CLIENT_NETWORK. */
  error: LambdarecError;
  /** 1 for the first retry of this request. */
  retry: number;
  delayMs: number;
  /** Events in the request. */
  eventCount: number;
}

export interface SendEventsOptions {
  /** Stops the request and its waits for a retry; the promise rejects with LREC_CLIENT_ABORTED. */
  signal?: AbortSignal | undefined;
  /** Overrides the client's `maxRetries` for this request. */
  maxRetries?: number | undefined;
  /** Overrides the client's `maxRateLimitRetries` for this request. */
  maxRateLimitRetries?: number | undefined;
}

export interface EventSenderOptions {
  /** `${ingestUrl}/events`. */
  url: string;
  headers: Record<string, string>;
  fetch: typeof globalThis.fetch;
  requestTimeoutMs: number;
  maxRetries: number;
  maxRateLimitRetries: number;
  backoff: BackoffPolicy;
  onRetry: (notice: RetryNotice) => void;
}

/** A signal that fires when the caller's does or after `ms`, telling the two apart. */
function deadline(ms: number, caller: AbortSignal | undefined): { signal: AbortSignal; timedOut: () => boolean; clear: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${ms} ms`));
  }, ms);
  const onAbort = () => controller.abort(caller!.reason);
  if (caller?.aborted === true) onAbort();
  else caller?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    clear: () => {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    },
  };
}

const aborted = (cause: unknown) => new LambdarecError(CLIENT_ERROR_CODES.ABORTED, 'the request was aborted', { cause });

/** The largest batch sent as a keepalive request (characters of JSON: bytes for the ASCII that events mostly are). */
export const KEEPALIVE_BODY_BYTES = 8 * 1024;

/**
 * Posts events to ingest until they are acknowledged: network errors, timeouts, 429 and 5xx are
 * retried with backoff (Retry-After honoured) and the same body, so the same eventIds, which
 * ingest's consumers keep once. Anything else (400, 401, 413) rejects at once: the same body would
 * be refused again.
 */
export function createEventSender({
  url,
  headers,
  fetch,
  requestTimeoutMs,
  maxRetries: defaultMaxRetries,
  maxRateLimitRetries: defaultMaxRateLimitRetries,
  backoff,
  onRetry,
}: EventSenderOptions) {
  async function postOnce(
    body: string,
    signal: AbortSignal | undefined,
  ): Promise<{ accepted?: EventsAccepted; error?: LambdarecError; serverDelayMs?: number | undefined }> {
    const limit = deadline(requestTimeoutMs, signal);
    try {
      // A small batch (a click, a cart) goes as a keepalive request: a click that opens another page
      // is sent as the page goes, and would be cancelled with it otherwise. Larger ones (imports,
      // Node) do not count against the browser's keepalive budget.
      const keepalive = body.length <= KEEPALIVE_BODY_BYTES;
      const response = await fetch(url, { method: 'POST', headers, body, signal: limit.signal, ...(keepalive ? { keepalive } : {}) });
      if (response.ok) return { accepted: (await response.json()) as EventsAccepted };
      return { error: await errorFromResponse(response, 'POST /events'), serverDelayMs: retryAfterMs(response.headers.get('retry-after')) };
    } catch (err) {
      if (signal?.aborted === true && !limit.timedOut()) throw aborted(err);
      const why = limit.timedOut() ? `no answer within ${requestTimeoutMs} ms` : 'no answer';
      return { error: new LambdarecError(CLIENT_ERROR_CODES.NETWORK, `POST /events: ${why}`, { retriable: true, cause: err }) };
    } finally {
      limit.clear();
    }
  }

  async function send(events: readonly SentEvent[], options: SendEventsOptions = {}): Promise<EventsAccepted> {
    const { signal, maxRetries = defaultMaxRetries, maxRateLimitRetries = defaultMaxRateLimitRetries } = options;
    const body = JSON.stringify({ events });
    let failures = 0;
    let rateLimitedInARow = 0;
    for (let retry = 1; ; retry++) {
      const { accepted, error, serverDelayMs } = await postOnce(body, signal);
      if (accepted !== undefined) return accepted;
      if (!error!.retriable) throw error!;
      // A rate limit is a wait for the budget to come back, not a failure; a request refused for it
      // again and again may be larger than the whole budget, which the caller can split.
      if (error!.status === 429) rateLimitedInARow++;
      else {
        rateLimitedInARow = 0;
        failures++;
      }
      if (failures > maxRetries || rateLimitedInARow > maxRateLimitRetries) throw error!;
      const rateLimited = error!.status === 429;
      const delayMs = retryDelayMs({ retry: rateLimited ? rateLimitedInARow : failures, rateLimited, serverDelayMs }, backoff);
      onRetry({ error: error!, retry, delayMs, eventCount: events.length });
      try {
        await sleep(delayMs, signal);
      } catch (err) {
        throw aborted(err);
      }
    }
  }

  return { send };
}

export type EventSender = ReturnType<typeof createEventSender>;
