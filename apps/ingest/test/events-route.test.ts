import { randomUUID } from 'node:crypto';
import { createKafka } from '@lambdarec/clients';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository } from '@lambdarec/stores';
import { buildClickEvent, uniqueName, waitFor } from '@lambdarec/testing';
import { describe, expect, inject, it } from 'vitest';
import { buildIngestApp } from '../src/app.js';
import { createEventPublisher } from '../src/event-publisher.js';
import { app, CATALOG_KEY, log, onTopic, pool, received, useIngestApp } from './ingest-app.js';

useIngestApp();

describe('POST /events', () => {
  it('accepts one event, assigns its eventId and timestamp, and produces it keyed by userId', async () => {
    const before = Date.now();
    const res = await app.inject({ method: 'POST', url: '/events', payload: { userId: 'u-1', type: 'view', productId: 'p-1' } });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.accepted).toBe(1);
    expect(body.eventIds).toHaveLength(1);
    const message = await onTopic(body.eventIds[0]);
    expect(message.key?.toString()).toBe('u-1');
    const event = JSON.parse(message.value!.toString());
    expect(event).toMatchObject({ eventId: body.eventIds[0], userId: 'u-1', type: 'view', productId: 'p-1' });
    expect(Date.parse(event.timestamp)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('accepts an array and {"events": [...]}, keeping given eventIds', async () => {
    const given = buildClickEvent({ userId: 'u-2' });
    const asArray = await app.inject({ method: 'POST', url: '/events', payload: [given, buildClickEvent({ userId: 'u-2' })] });
    expect(asArray.statusCode).toBe(202);
    expect(asArray.json().eventIds[0]).toBe(given.eventId);
    const wrapped = await app.inject({
      method: 'POST',
      url: '/events',
      payload: { events: [buildClickEvent({ userId: 'u-3', type: 'purchase' })] },
    });
    expect(wrapped.statusCode).toBe(202);
    expect(wrapped.json().accepted).toBe(1);
    await onTopic(given.eventId);
    await onTopic(wrapped.json().eventIds[0]);
  });

  it('acknowledges many concurrent requests, and every event lands on the topic exactly once', async () => {
    const requests = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 5 }, (_, j) => buildClickEvent({ userId: `conc-${i % 7}`, productId: `p-${j}` })),
    );
    const answers = await Promise.all(requests.map((events) => app.inject({ method: 'POST', url: '/events', payload: events })));
    expect(answers.map((a) => a.statusCode)).toEqual(requests.map(() => 202));
    const ids = new Set(requests.flat().map((e) => e.eventId));
    await waitFor(() => (received.filter((m) => ids.has(JSON.parse(m.value!.toString()).eventId)).length >= ids.size ? true : undefined), {
      what: 'all 200 events on the topic',
    });
    // A marker sent afterwards: once it arrived, any duplicate would have too (same partitions, in order).
    const markers = await app.inject({
      method: 'POST',
      url: '/events',
      payload: Array.from({ length: 7 }, (_, i) => buildClickEvent({ userId: `conc-${i}`, productId: 'marker' })),
    });
    for (const id of markers.json().eventIds as string[]) await onTopic(id);
    const arrived = received.map((m) => JSON.parse(m.value!.toString()).eventId as string).filter((id) => ids.has(id));
    expect(arrived).toHaveLength(ids.size);
    expect(new Set(arrived).size).toBe(ids.size);
  });

  it('rejects a batch with a bad event with 400 naming index and field, and produces none of it', async () => {
    const good = buildClickEvent({ userId: 'u-4' });
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      payload: [good, { userId: 'bad user!', type: 'view', productId: 'p' }, { userId: 'u-4', type: 'like', productId: 'p' }],
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('LREC_INVALID_EVENT');
    expect(body.issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: [1, 'userId'] }), expect.objectContaining({ path: [2, 'type'] })]),
    );
    // A later accepted event shows the consumer is past where the rejected one would be.
    const marker = await app.inject({ method: 'POST', url: '/events', payload: buildClickEvent({ userId: 'u-4' }) });
    await onTopic(marker.json().eventIds[0]);
    expect(received.some((m) => JSON.parse(m.value!.toString()).eventId === good.eventId)).toBe(false);
  });

  it('takes an impression and a click with the recommendationId and position they came from, as sent', async () => {
    const recommendationId = randomUUID();
    const impression = { userId: 'u-imp', type: 'impression', recommendationId, productIds: ['p-1', 'p-2', 'p-3'] };
    const click = { userId: 'u-imp', type: 'click', productId: 'p-2', recommendationId, position: 1 };
    const res = await app.inject({ method: 'POST', url: '/events', payload: [impression, click] });
    expect(res.statusCode).toBe(202);
    const [impressionId, clickId] = res.json().eventIds as string[];
    expect(JSON.parse((await onTopic(impressionId!)).value!.toString())).toMatchObject(impression);
    expect(JSON.parse((await onTopic(clickId!)).value!.toString())).toMatchObject(click);
  });

  it('names what is wrong with an impression or an attribution field, and takes none of the batch', async () => {
    const recommendationId = randomUUID();
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      payload: [
        { userId: 'u-imp', type: 'impression', productIds: ['p-1'] },
        { userId: 'u-imp', type: 'impression', recommendationId, productIds: [] },
        { userId: 'u-imp', type: 'impression', recommendationId, productIds: ['p-1'], productId: 'p-1' },
        { userId: 'u-imp', type: 'click', productId: 'p-1', recommendationId: 'r-1', position: -2 },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect((res.json().issues as { path: unknown[] }[]).map((issue) => issue.path)).toEqual([
      [0, 'recommendationId'],
      [1, 'productIds'],
      [2],
      [3, 'recommendationId'],
      [3, 'position'],
    ]);
  });

  it('rejects malformed JSON with 400, more than 500 events with 413, a body over 1 MiB with 413', async () => {
    const malformed = await app.inject({
      method: 'POST',
      url: '/events',
      headers: { 'content-type': 'application/json' },
      payload: '{"userId":',
    });
    expect(malformed.statusCode).toBe(400);
    const tooMany = await app.inject({ method: 'POST', url: '/events', payload: Array.from({ length: 501 }, () => buildClickEvent()) });
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json().message).toMatch(/at most 500/);
    const huge = await app.inject({
      method: 'POST',
      url: '/events',
      payload: [buildClickEvent({ sessionId: 'x'.repeat(100) }), { pad: 'y'.repeat(1024 * 1024) }],
    });
    expect(huge.statusCode).toBe(413);
  });

  it('rejects a timestamp more than 5 minutes in the future', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      payload: buildClickEvent({ timestamp: new Date(Date.now() + 10 * 60_000).toISOString() }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues[0].path).toEqual(['timestamp']);
  });

  it('answers 503 with Retry-After when Kafka cannot take the events', async () => {
    const kafka = createKafka({
      brokers: inject('infra').kafkaBrokers,
      clientId: 'ingest-test-503',
      log,
      config: { retry: { retries: 0 } },
    });
    const missingTopic = createEventPublisher({ kafka, topic: uniqueName('t.missing'), log, sendTimeoutMs: 2_000 });
    await missingTopic.start();
    const broken = await buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher: missingTopic,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry('ingest-test-503'),
      checks: { kafka: () => missingTopic.ready() },
    });
    try {
      const res = await broken.inject({ method: 'POST', url: '/events', payload: buildClickEvent() });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().code).toBe('LREC_BROKER_UNAVAILABLE');
      const ready = await broken.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().down).toEqual(['kafka']);
    } finally {
      await broken.close();
      await missingTopic.close();
    }
  });
});

describe('storable events only', () => {
  it('answers 400 for a NUL in category, a lone surrogate, a pre-2000 timestamp or an unstorable value, and produces none of them', async () => {
    const bad = [
      buildClickEvent({ category: 'sho\u0000es' }),
      buildClickEvent({ sessionId: 'abc\ud800' }),
      buildClickEvent({ timestamp: '1970-01-01T00:00:00Z' }),
      buildClickEvent({ value: 5e-324 }),
    ];
    const res = await app.inject({ method: 'POST', url: '/events', payload: bad });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues.map((issue: { path: unknown[] }) => issue.path)).toEqual([
      [0, 'category'],
      [1, 'sessionId'],
      [2, 'timestamp'],
      [3, 'value'],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ids = new Set(bad.map((e) => e.eventId));
    expect(received.filter((m) => ids.has(JSON.parse(m.value!.toString()).eventId))).toEqual([]);
  });
});

describe('operations', () => {
  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json().dependencies).toEqual({ kafka: { status: 'up' }, postgres: { status: 'up' } });
    const metrics = await app.inject('/metrics');
    expect(metrics.body).toMatch(/lrec_events_accepted_total\{type="view",service="ingest-test"\} \d+/);
    const openapi = (await app.inject('/docs/json')).json();
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/events', '/products']));
  });
});
