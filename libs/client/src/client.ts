import { MAX_EVENTS_PER_REQUEST, splitIntoBatches } from './batches.js';
import { CLIENT_ERROR_CODES, errorFromResponse, LambdarecError } from './errors.js';
import { eventIssues, MAX_IMPRESSION_PRODUCTS } from './event-check.js';
import { createEventQueue } from './event-queue.js';
import { createEventSender, type RetryNotice, type SendEventsOptions } from './event-sender.js';
import { currentPage, watchPageExit, type PageEnvironment } from './page-exit.js';
import type {
  EventsAccepted,
  ImpressionEvent,
  LambdarecEvent,
  ProductEvent,
  RecommendationAnswer,
  RecommendOptions,
  SentEvent,
  ShownRecommendations,
} from './types.js';
import { randomUuid, type UuidSource } from './uuid.js';

/**
 * Browsers let a page that is going away send at most 64 KiB in beacons and keepalive requests
 * together; requests on the way out stay below that, with room for the one batch that may still be
 * in flight as a keepalive request (KEEPALIVE_BODY_BYTES).
 */
const EXIT_REQUEST_BYTES = 52 * 1024;

export interface LambdarecClientOptions {
  /** Serving's base URL, for `recommend` (`https://recs.example.com`). */
  servingUrl?: string | undefined;
  /** Ingest's base URL, for `track` and `sendEvents`. */
  ingestUrl?: string | undefined;
  /** Sent as `X-Write-Key` when ingest requires one (EVENTS_WRITE_KEY). */
  writeKey?: string | undefined;
  /**
   * The operator's key (CATALOG_API_KEY), sent as `Authorization: Bearer`: the events are a history
   * import, which may be dated back to 2000. For servers and scripts only, never in a page.
   */
  operatorKey?: string | undefined;
  /** @defaultValue globalThis.fetch */
  fetch?: typeof globalThis.fetch | undefined;
  /** A batch leaves this long after its first event was tracked. @defaultValue 1000 */
  flushIntervalMs?: number | undefined;
  /** A batch leaves as soon as this many events wait; at most 500, ingest's limit. @defaultValue 100 */
  maxBatch?: number | undefined;
  /** Events kept while ingest cannot be reached; beyond it the oldest are dropped (reported to `onError`). @defaultValue 10000 */
  maxQueuedEvents?: number | undefined;
  /** Retries of one request after network errors, timeouts and 5xx. @defaultValue 5 */
  maxRetries?: number | undefined;
  /** Retries of one request after 429s in a row. @defaultValue 5 */
  maxRateLimitRetries?: number | undefined;
  /** The first backoff; each further one doubles (with jitter). @defaultValue 500 */
  retryBaseDelayMs?: number | undefined;
  /** The longest backoff (a server's Retry-After may ask for longer). @defaultValue 30000 */
  retryMaxDelayMs?: number | undefined;
  /** One request gives up after this long (and is retried, for events). @defaultValue 10000 */
  requestTimeoutMs?: number | undefined;
  /** Events that were not delivered and will not be: refused (400, 401, 413) or out of retries. */
  onError?: ((error: LambdarecError, events: SentEvent[]) => void) | undefined;
  /** Each retry of a request, before its wait. */
  onRetry?: ((notice: RetryNotice) => void) | undefined;
  /**
   * The page whose hiding sends the queue at once; by default the browser's own when there is one.
   * `null`: never listen (a server, a test).
   */
  page?: PageEnvironment | null | undefined;
  /**
   * When the queue leaves on page exit through `navigator.sendBeacon`. A beacon carries no header
   * (so never with `writeKey` or `operatorKey`) and is sent with credentials, so a cross-origin
   * ingest must answer CORS with `Access-Control-Allow-Credentials: true`, which lambdarec's ingest
   * does not. `same-origin`: only when ingest is on the page's origin (behind the shop's own
   * domain); `always`: whenever the browser has it; `never`. Otherwise the events leave with
   * `fetch(…, { keepalive: true })`, which CORS and the write key work with.
   * @defaultValue 'same-origin'
   */
  beacon?: 'same-origin' | 'always' | 'never' | undefined;
  /** Where UUIDs come from. @defaultValue globalThis.crypto */
  crypto?: UuidSource | undefined;
}

/** What a click adds to the answer's facts. */
export type ClickDetails = Pick<ProductEvent, 'sessionId' | 'timestamp' | 'category' | 'value' | 'eventId'>;

export interface LambdarecClient {
  /** `GET /recommendations/:userId`; a 4xx rejects with the server's code, message and issues. Not retried: a page shows the shop without the list. */
  recommend(userId: string, options?: RecommendOptions): Promise<RecommendationAnswer>;
  /** Queues an event (with an eventId assigned when absent) and answers it as it will be sent. */
  track(event: LambdarecEvent): SentEvent;
  /**
   * Queues an `impression` of the list as shown: the answer's products in order, or the given ones
   * (at most 100). Nothing is queued, and undefined answered, when the answer has no
   * recommendationId (an older serving) or no products. In an interleaved experiment (items with a
   * `team`) show the answer's items in their order, cutting only the end: teams are known by position.
   */
  trackImpression(
    answer: ShownRecommendations,
    options?: { productIds?: readonly string[]; sessionId?: string; timestamp?: string },
  ): SentEvent | undefined;
  /**
   * Queues a `click` on an item of the answer, given as the item or its 0-based position, with the
   * answer's recommendationId and the item's position (when the answer has an id).
   */
  trackClick(answer: ShownRecommendations, item: number | { productId: string }, details?: ClickDetails): SentEvent;
  /**
   * Sends events now, in requests of at most 500, one after the other, with the same retries as
   * queued ones: for imports and servers that want each outcome. Rejects with the first request
   * that failed (earlier requests stay accepted).
   */
  sendEvents(events: readonly LambdarecEvent[], options?: SendEventsOptions): Promise<EventsAccepted>;
  /** Resolves when every event tracked so far is acknowledged or given up (see `onError`); never rejects. */
  flush(): Promise<void>;
  /** Flushes, stops the timer and stops listening to the page. Safe to call twice. */
  close(): Promise<void>;
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');

function required(url: string | undefined, option: string, what: string): string {
  if (url === undefined || url === '')
    throw new LambdarecError(CLIENT_ERROR_CODES.NOT_CONFIGURED, `${what} needs the client option ${option}`);
  return withoutTrailingSlash(url);
}

/** The lambdarec client for a shop: recommendations from serving, events to ingest. */
export function createLambdarecClient(options: LambdarecClientOptions = {}): LambdarecClient {
  const {
    servingUrl,
    ingestUrl,
    writeKey,
    operatorKey,
    fetch = globalThis.fetch.bind(globalThis),
    flushIntervalMs = 1000,
    maxBatch = 100,
    maxQueuedEvents = 10_000,
    maxRetries = 5,
    maxRateLimitRetries = 5,
    retryBaseDelayMs = 500,
    retryMaxDelayMs = 30_000,
    requestTimeoutMs = 10_000,
    onError = () => undefined,
    onRetry = () => undefined,
    beacon = 'same-origin',
    crypto = globalThis.crypto,
  } = options;
  const page = options.page === undefined ? currentPage() : (options.page ?? undefined);
  const eventsUrl = () => `${required(ingestUrl, 'ingestUrl', 'sending events')}/events`;

  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (writeKey !== undefined) headers['x-write-key'] = writeKey;
  if (operatorKey !== undefined) headers['authorization'] = `Bearer ${operatorKey}`;

  const sender = createEventSender({
    url: ingestUrl === undefined ? '' : eventsUrl(),
    headers,
    fetch,
    requestTimeoutMs,
    maxRetries,
    maxRateLimitRetries,
    backoff: { baseDelayMs: retryBaseDelayMs, maxDelayMs: retryMaxDelayMs },
    onRetry,
  });
  const queue = createEventQueue({
    deliver: (events) => sender.send(events),
    onDropped: onError,
    flushIntervalMs,
    maxBatch: Math.max(1, Math.min(MAX_EVENTS_PER_REQUEST, maxBatch)),
    maxQueued: Math.max(1, maxQueuedEvents),
  });

  /** The event as it will be sent: checked, with its eventId. */
  function checkedWithId(event: LambdarecEvent, index?: number): SentEvent {
    // In a list, each issue names the event's index, as ingest's own issues do.
    const issues = eventIssues(event).map((issue) => (index === undefined ? issue : { ...issue, path: ['events', index, ...issue.path] }));
    if (issues.length > 0)
      throw new LambdarecError(
        CLIENT_ERROR_CODES.INVALID_EVENT,
        issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
        {
          issues,
        },
      );
    return { ...event, eventId: event.eventId ?? randomUuid(crypto) };
  }

  let closing: Promise<void> | undefined;
  function track(event: LambdarecEvent): SentEvent {
    if (closing !== undefined) throw new LambdarecError(CLIENT_ERROR_CODES.CLOSED, 'track after close()');
    eventsUrl();
    const sent = checkedWithId(event);
    queue.add(sent);
    return sent;
  }

  const beaconAllowed = (() => {
    if (page === undefined || typeof page.navigator?.sendBeacon !== 'function') return false;
    if (beacon === 'never' || writeKey !== undefined || operatorKey !== undefined || ingestUrl === undefined) return false;
    if (beacon === 'always') return true;
    return page.origin !== undefined && new URL(ingestUrl, page.origin).origin === page.origin;
  })();

  /**
   * The page is going away: what is queued leaves now, as a beacon when allowed, else as keepalive
   * requests (which outlive the page). A keepalive request that fails while the page is still
   * there (only hidden) goes back into the queue, same eventIds.
   */
  function sendOnExit(): void {
    const events = queue.takeQueued();
    for (const batch of splitIntoBatches(events, MAX_EVENTS_PER_REQUEST, EXIT_REQUEST_BYTES)) {
      const body = JSON.stringify({ events: batch });
      if (beaconAllowed && page!.navigator!.sendBeacon!(eventsUrl(), new Blob([body], { type: 'application/json' }))) continue;
      const requeue = () => {
        for (const event of batch) queue.add(event);
      };
      fetch(eventsUrl(), { method: 'POST', headers, body, keepalive: true }).then(async (response) => {
        if (response.ok) return;
        const error = await errorFromResponse(response, 'POST /events');
        if (error.retriable) requeue();
        else onError(error, batch);
      }, requeue);
    }
  }
  const stopWatching = page === undefined ? () => undefined : watchPageExit(page, sendOnExit);

  return {
    async recommend(userId, { limit, category, exclude, signal } = {}) {
      const query = new URLSearchParams();
      if (limit !== undefined) query.set('limit', String(limit));
      if (category !== undefined) query.set('category', category);
      if (exclude !== undefined && exclude.length > 0) query.set('exclude', exclude.join(','));
      const search = query.toString() === '' ? '' : `?${query}`;
      const url = `${required(servingUrl, 'servingUrl', 'recommend')}/recommendations/${encodeURIComponent(userId)}${search}`;
      const timeout = AbortSignal.timeout(requestTimeoutMs);
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { accept: 'application/json' },
          signal: signal === undefined ? timeout : anyOf(signal, timeout),
        });
      } catch (err) {
        if (signal?.aborted === true) throw new LambdarecError(CLIENT_ERROR_CODES.ABORTED, 'the request was aborted', { cause: err });
        throw new LambdarecError(CLIENT_ERROR_CODES.NETWORK, 'GET /recommendations: no answer', { retriable: true, cause: err });
      }
      if (!response.ok) throw await errorFromResponse(response, 'GET /recommendations');
      try {
        const answer = (await response.json()) as RecommendationAnswer;
        if (!Array.isArray(answer.items)) throw new TypeError('no items');
        return answer;
      } catch (err) {
        throw new LambdarecError(CLIENT_ERROR_CODES.BAD_ANSWER, 'GET /recommendations answered something other than an answer', {
          status: response.status,
          cause: err,
        });
      }
    },

    track,

    trackImpression(answer, { productIds, sessionId, timestamp } = {}) {
      const shown = (productIds ?? answer.items.map((item) => item.productId)).slice(0, MAX_IMPRESSION_PRODUCTS);
      if (answer.recommendationId === undefined || shown.length === 0) return undefined;
      const impression: ImpressionEvent = {
        type: 'impression',
        userId: answer.userId,
        recommendationId: answer.recommendationId,
        productIds: shown,
      };
      if (sessionId !== undefined) impression.sessionId = sessionId;
      if (timestamp !== undefined) impression.timestamp = timestamp;
      return track(impression);
    },

    trackClick(answer, item, details = {}) {
      const position = typeof item === 'number' ? item : answer.items.findIndex((shown) => shown.productId === item.productId);
      const clicked = answer.items[position];
      if (clicked === undefined) throw new RangeError(`the answer has no item ${typeof item === 'number' ? `at ${item}` : item.productId}`);
      const click: ProductEvent = { ...details, type: 'click', userId: answer.userId, productId: clicked.productId };
      const category = (clicked as { category?: unknown }).category;
      if (click.category === undefined && typeof category === 'string') click.category = category;
      if (answer.recommendationId !== undefined) Object.assign(click, { recommendationId: answer.recommendationId, position });
      return track(click);
    },

    async sendEvents(events, sendOptions) {
      const ready = events.map((event, index) => checkedWithId(event, index));
      const result: EventsAccepted = { accepted: 0, eventIds: [] };
      for (const batch of splitIntoBatches(ready, MAX_EVENTS_PER_REQUEST)) {
        const accepted = await sender.send(batch, sendOptions);
        result.accepted += accepted.accepted;
        result.eventIds.push(...accepted.eventIds);
      }
      return result;
    },

    flush: () => queue.flush(),

    close() {
      closing ??= (async () => {
        stopWatching();
        await queue.flush();
        queue.pause();
      })();
      return closing;
    },
  };
}

/** AbortSignal.any where it exists (Node 20.3, browsers from 2023), by hand elsewhere. */
function anyOf(...signals: AbortSignal[]): AbortSignal {
  const native = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  if (typeof native === 'function') return native.call(AbortSignal, signals);
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}
