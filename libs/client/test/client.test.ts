import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createLambdarecClient,
  LambdarecError,
  type LambdarecClient,
  type LambdarecClientOptions,
  type PageEnvironment,
  type RecommendationAnswer,
  type SentEvent,
} from '../src/index.js';
import { startStandIn, type StandIn } from './ingest-stand-in.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RECOMMENDATION_ID = '0b6f2c1e-8a47-4d3e-9f5a-2c1d7e6b9a10';

let server: StandIn;
let clients: LambdarecClient[] = [];
let dropped: { error: LambdarecError; events: SentEvent[] }[] = [];

/** A client of the stand-in with quick retries and no timer unless a test asks for one. */
function clientOf(options: LambdarecClientOptions = {}): LambdarecClient {
  const client = createLambdarecClient({
    servingUrl: server.url,
    ingestUrl: server.url,
    page: null,
    flushIntervalMs: 60_000,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    onError: (error, events) => dropped.push({ error, events }),
    ...options,
  });
  clients.push(client);
  return client;
}

const view = (productId: string, userId = 'u1') => ({ type: 'view' as const, userId, productId });

const answer = (overrides: Partial<RecommendationAnswer> = {}): RecommendationAnswer => ({
  userId: 'u1',
  recommendationId: RECOMMENDATION_ID,
  experiment: { id: 'boost-test', variant: 'challenger' },
  items: ['p1', 'p2', 'p3'].map((productId, i) => ({ productId, score: 1 - i / 10, category: 'tea', reasons: ['popular'] })),
  sources: { batchRunId: 'run-1', batchPublishedAt: '2026-12-01T02:00:00.000Z', session: true },
  degraded: [],
  ...overrides,
});

/** A page with a fake document, window and navigator; `hide()` plays the tab being left. */
function fakePage({ origin, sendBeacon }: { origin: string; sendBeacon?: (url: string, data: Blob) => boolean }) {
  const document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  const window = new EventTarget();
  const listening = { count: 0 };
  for (const target of [document, window]) {
    const add = target.addEventListener.bind(target);
    const remove = target.removeEventListener.bind(target);
    target.addEventListener = (...args: Parameters<EventTarget['addEventListener']>) => (listening.count++, add(...args));
    target.removeEventListener = (...args: Parameters<EventTarget['removeEventListener']>) => (listening.count--, remove(...args));
  }
  const page: PageEnvironment = { document, window, navigator: sendBeacon === undefined ? {} : { sendBeacon }, origin };
  return {
    page,
    listening,
    hide() {
      document.visibilityState = 'hidden';
      document.dispatchEvent(new Event('visibilitychange'));
    },
    leave: () => window.dispatchEvent(new Event('pagehide')),
  };
}

beforeEach(async () => {
  server = await startStandIn();
});

afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
  dropped = [];
  await server.close();
});

describe('track: batches', () => {
  it('sends a batch as soon as maxBatch events wait, and the rest on flush, in the order tracked', async () => {
    const client = clientOf({ maxBatch: 3 });
    const tracked = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((p) => client.track(view(p)));
    await client.flush();
    const batches = server.postedBatches();
    expect(batches.map((batch) => batch.map((event) => event.productId))).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ['g']]);
    expect(batches.flat()).toEqual(tracked);
    for (const event of tracked) expect(event.eventId).toMatch(UUID);
    expect(server.requests[0]!.path).toBe('/events');
    expect(server.requests[0]!.headers['content-type']).toBe('application/json');
  });

  it('sends what waits flushIntervalMs after the first event, in one request', async () => {
    const client = clientOf({ flushIntervalMs: 30 });
    client.track(view('a'));
    client.track({ ...view('b'), eventId: '6d1f4c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6' });
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    expect(server.postedBatches()[0]!.map((event) => event.eventId)[1]).toBe('6d1f4c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6');
  });

  it('flush resolves at once when nothing waits, and after the acknowledgement otherwise', async () => {
    const client = clientOf();
    await client.flush();
    expect(server.requests).toHaveLength(0);
    client.track(view('a'));
    await client.flush();
    expect(server.requests).toHaveLength(1);
  });

  it('refuses an event ingest would refuse before it joins a batch, naming its index in a list', async () => {
    const client = clientOf();
    await expect(client.sendEvents([view('a'), view('bad id')])).rejects.toMatchObject({
      code: 'LREC_INVALID_EVENT',
      issues: [{ path: ['events', 1, 'productId'] }],
    });
    expect(server.requests).toHaveLength(0);
    expect(() => client.track(view('not a product id'))).toThrow(expect.objectContaining({ code: 'LREC_INVALID_EVENT' }));
    expect(() => client.track({ type: 'impression', userId: 'u1', recommendationId: RECOMMENDATION_ID, productIds: [] })).toThrow(
      /productIds/,
    );
  });

  it('refuses what ingest’s strict schema would: a field it does not know, a position past its bound, a long sessionId, a timestamp that is no date', () => {
    const client = clientOf();
    const issuesOf = (event: unknown) => {
      try {
        client.track(event as Parameters<LambdarecClient['track']>[0]);
        return [];
      } catch (err) {
        return (err as { issues: { path: unknown[] }[] }).issues.map((issue) => issue.path.join('.'));
      }
    };
    expect(issuesOf({ ...view('p1'), price: 3 })).toEqual(['price']);
    expect(issuesOf({ ...view('p1'), position: 10_001 })).toEqual(['position']);
    expect(issuesOf({ ...view('p1'), sessionId: 's'.repeat(129) })).toEqual(['sessionId']);
    expect(issuesOf({ ...view('p1'), timestamp: 'yesterday' })).toEqual(['timestamp']);
    expect(
      issuesOf({ type: 'impression', userId: 'u1', recommendationId: RECOMMENDATION_ID, productIds: ['p1'], productId: 'p1' }),
    ).toEqual(['productId']);
    expect(issuesOf({ ...view('p1'), position: 3, sessionId: 's1', timestamp: new Date().toISOString() })).toEqual([]);
  });

  it('sends X-Write-Key with a write key, and Authorization: Bearer with the operator key', async () => {
    await clientOf({ writeKey: 'shop-key' }).sendEvents([view('a')]);
    await clientOf({ operatorKey: 'operator-key' }).sendEvents([view('b')]);
    expect(server.requests[0]!.headers['x-write-key']).toBe('shop-key');
    expect(server.requests[0]!.headers['authorization']).toBeUndefined();
    expect(server.requests[1]!.headers['authorization']).toBe('Bearer operator-key');
  });

  it('sendEvents splits more than 500 events into requests of 500 and adds up the acknowledgements', async () => {
    const events = Array.from({ length: 501 }, (_, i) => view(`p${i}`));
    const accepted = await clientOf().sendEvents(events);
    expect(server.postedBatches().map((batch) => batch.length)).toEqual([500, 1]);
    expect(accepted.accepted).toBe(501);
    expect(new Set(accepted.eventIds).size).toBe(501);
  });
});

describe('track: requests that outlive the page', () => {
  it('sends a small batch as a keepalive request, so that a click that opens another page still arrives, and a large one without', async () => {
    const keepalive: boolean[] = [];
    const client = clientOf({ fetch: (input, init) => (keepalive.push(init?.keepalive === true), fetch(input, init)) });
    client.track({ type: 'click', userId: 'u1', productId: 'p1', recommendationId: RECOMMENDATION_ID, position: 0 });
    await client.flush();
    await client.sendEvents(Array.from({ length: 200 }, (_, i) => view(`product-with-a-long-name-${i}`)));
    expect(keepalive).toEqual([true, false]);
  });
});

describe('track: retries', () => {
  it('retries 503 and a dropped connection with the same eventIds', async () => {
    server.script.push({ status: 503, headers: { 'retry-after': '0' }, body: { code: 'LREC_STORE_UNAVAILABLE', message: 'later' } });
    server.script.push({ drop: true });
    const retries: number[] = [];
    const client = clientOf({ onRetry: (notice) => retries.push(notice.error.status ?? 0) });
    client.track(view('a'));
    client.track(view('b'));
    await client.flush();
    const batches = server.postedBatches();
    expect(batches).toHaveLength(3);
    expect(batches[1]).toEqual(batches[0]);
    expect(batches[2]).toEqual(batches[0]);
    expect(retries).toEqual([503, 0]);
    expect(dropped).toEqual([]);
  });

  it('waits as long as Retry-After says after a 429', async () => {
    server.script.push({ status: 429, headers: { 'retry-after': '1' }, body: { code: 'LREC_RATE_LIMITED', message: 'slow down' } });
    const client = clientOf();
    client.track(view('a'));
    await client.flush();
    const [first, second] = server.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
    expect(server.postedBatches()[1]).toEqual(server.postedBatches()[0]);
  });

  it.each([400, 401, 413])('never sends a batch refused with %i again: it goes to onError, and the next batch is sent', async (status) => {
    const issues = [{ path: ['events', 0, 'productId'], message: 'unknown product' }];
    server.script.push({ status, body: { code: 'LREC_INVALID_EVENT', message: 'refused', issues } });
    const client = clientOf();
    const refused = client.track(view('a'));
    await client.flush();
    client.track(view('b'));
    await client.flush();
    expect(server.postedBatches().map((batch) => batch.map((event) => event.productId))).toEqual([['a'], ['b']]);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.events).toEqual([refused]);
    expect(dropped[0]!.error).toMatchObject({ status, code: 'LREC_INVALID_EVENT', message: 'refused', issues, retriable: false });
  });

  it('gives a batch up after maxRetries, reports it, and flush still resolves', async () => {
    for (let i = 0; i < 3; i++) server.script.push({ status: 503, body: { code: 'LREC_STORE_UNAVAILABLE', message: 'down' } });
    const client = clientOf({ maxRetries: 2 });
    client.track(view('a'));
    await client.flush();
    expect(server.requests).toHaveLength(3);
    expect(dropped[0]!.error).toMatchObject({ status: 503, retriable: true });
  });

  it('sendEvents rejects with the service error, and stops waiting for a retry when its signal aborts', async () => {
    server.script.push({ status: 400, body: { code: 'LREC_INVALID_EVENT', message: 'bad', issues: [] } });
    await expect(clientOf().sendEvents([view('a')])).rejects.toMatchObject({ code: 'LREC_INVALID_EVENT', status: 400 });
    server.script.push({ status: 503, headers: { 'retry-after': '30' }, body: { code: 'LREC_STORE_UNAVAILABLE', message: 'down' } });
    const stop = new AbortController();
    const sending = clientOf().sendEvents([view('b')], { signal: stop.signal });
    await vi.waitFor(() => expect(server.requests).toHaveLength(2));
    stop.abort();
    await expect(sending).rejects.toMatchObject({ code: 'LREC_CLIENT_ABORTED' });
  });

  it('a rate-limited request gives up after maxRateLimitRetries 429s in a row, so that the caller can split it', async () => {
    for (let i = 0; i < 2; i++)
      server.script.push({ status: 429, headers: { 'retry-after': '0' }, body: { code: 'LREC_RATE_LIMITED', message: 'over' } });
    await expect(clientOf().sendEvents([view('a'), view('b')], { maxRateLimitRetries: 1 })).rejects.toMatchObject({ status: 429 });
    expect(server.requests).toHaveLength(2);
  });
});

describe('impressions and clicks', () => {
  it('an impression names the answer and lists its products in the order shown', async () => {
    const client = clientOf();
    const impression = client.trackImpression(answer(), { sessionId: 's1' });
    await client.flush();
    expect(server.postedBatches()[0]).toEqual([
      {
        eventId: impression!.eventId,
        type: 'impression',
        userId: 'u1',
        sessionId: 's1',
        recommendationId: RECOMMENDATION_ID,
        productIds: ['p1', 'p2', 'p3'],
      },
    ]);
  });

  it('an impression lists the products given, at most 100, and none is sent for an answer without a recommendationId', () => {
    const client = clientOf();
    const many = answer({ items: Array.from({ length: 120 }, (_, i) => ({ productId: `p${i}`, score: 1, category: null, reasons: [] })) });
    expect(client.trackImpression(many)).toMatchObject({ productIds: many.items.slice(0, 100).map((item) => item.productId) });
    expect(client.trackImpression(answer(), { productIds: ['p2'] })).toMatchObject({ productIds: ['p2'] });
    expect(client.trackImpression({ userId: 'u1', items: [{ productId: 'p1' }] })).toBeUndefined();
  });

  it('a click carries the recommendationId and the 0-based position, given the item or the position', async () => {
    const client = clientOf();
    client.trackClick(answer(), { productId: 'p3' }, { sessionId: 's1' });
    client.trackClick(answer(), 0);
    client.track({ type: 'purchase', userId: 'u1', productId: 'p3', value: 12.5, recommendationId: RECOMMENDATION_ID, position: 2 });
    await client.flush();
    const [click, byPosition, purchase] = server.postedBatches()[0]!;
    expect(click).toMatchObject({
      type: 'click',
      userId: 'u1',
      productId: 'p3',
      category: 'tea',
      recommendationId: RECOMMENDATION_ID,
      position: 2,
    });
    expect(byPosition).toMatchObject({ productId: 'p1', position: 0 });
    expect(purchase).toMatchObject({ type: 'purchase', recommendationId: RECOMMENDATION_ID, position: 2, value: 12.5 });
    expect(() => client.trackClick(answer(), 7)).toThrow(RangeError);
  });
});

describe('recommend', () => {
  it('asks serving with the query and answers its typed answer', async () => {
    server.answerGet = () => ({ status: 200, body: answer({ items: [{ ...answer().items[0]!, team: 'challenger' }] }) });
    const got = await clientOf().recommend('u 1', { limit: 5, category: 'tea', exclude: ['p7', 'p8'] });
    expect(server.requests[0]!.path).toBe('/recommendations/u%201?limit=5&category=tea&exclude=p7%2Cp8');
    expect(got.recommendationId).toBe(RECOMMENDATION_ID);
    expect(got.experiment).toEqual({ id: 'boost-test', variant: 'challenger' });
    expect(got.items[0]!.team).toBe('challenger');
  });

  it("rejects a 4xx with the server's code, message and issues", async () => {
    const issues = [{ path: ['query', 'limit'], message: 'limit must be 1–100' }];
    server.answerGet = () => ({ status: 400, body: { code: 'LREC_INVALID_QUERY', message: 'bad query', issues } });
    const failure = await clientOf()
      .recommend('u1', { limit: 500 })
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(LambdarecError);
    expect(failure).toMatchObject({ code: 'LREC_INVALID_QUERY', message: 'bad query', status: 400, issues, retriable: false });
  });
});

describe('leaving the page', () => {
  it('sends the queue as a beacon of application/json when ingest is on the page’s origin', async () => {
    const beacons: { url: string; data: Blob }[] = [];
    const { page, hide } = fakePage({ origin: server.url, sendBeacon: (url, data) => (beacons.push({ url, data }), true) });
    const client = clientOf({ page });
    const tracked = client.track(view('a'));
    hide();
    expect(beacons).toHaveLength(1);
    expect(beacons[0]!.url).toBe(`${server.url}/events`);
    expect(beacons[0]!.data.type).toBe('application/json');
    expect(JSON.parse(await beacons[0]!.data.text())).toEqual({ events: [tracked] });
    // Handed to the browser: nothing is left to send.
    await client.flush();
    expect(server.requests).toHaveLength(0);
  });

  it('uses fetch with keepalive instead when a write key is needed or ingest is on another origin', async () => {
    for (const [options, origin] of [
      [{ writeKey: 'shop-key' }, server.url],
      [{}, 'https://shop.example'],
    ] as const) {
      const sendBeacon = vi.fn(() => true);
      const keepalive: boolean[] = [];
      const { page, leave } = fakePage({ origin, sendBeacon });
      const client = clientOf({
        ...options,
        page,
        fetch: (input, init) => (keepalive.push(init?.keepalive === true), fetch(input, init)),
      });
      client.track(view('a'));
      leave();
      await vi.waitFor(() => expect(server.requests).toHaveLength(1));
      expect(sendBeacon).not.toHaveBeenCalled();
      expect(keepalive).toEqual([true]);
      server.requests.length = 0;
    }
  });

  it('a keepalive request that fails while the page is only hidden goes back into the queue, same eventIds', async () => {
    server.script.push({ status: 503, body: { code: 'LREC_STORE_UNAVAILABLE', message: 'down' } });
    const { page, hide } = fakePage({ origin: 'https://shop.example' });
    const client = clientOf({ page });
    client.track(view('a'));
    hide();
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    await vi.waitFor(async () => {
      await client.flush();
      expect(server.requests).toHaveLength(2);
    });
    expect(server.postedBatches()[1]).toEqual(server.postedBatches()[0]);
  });

  it('close flushes and stops listening to the page; tracking after it is an error', async () => {
    const { page, listening } = fakePage({ origin: server.url });
    const client = clientOf({ page });
    expect(listening.count).toBe(2);
    client.track(view('a'));
    await client.close();
    await client.close();
    expect(server.requests).toHaveLength(1);
    expect(listening.count).toBe(0);
    expect(() => client.track(view('b'))).toThrow(expect.objectContaining({ code: 'LREC_CLIENT_CLOSED' }));
  });
});
