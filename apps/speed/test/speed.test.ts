import { randomUUID } from 'node:crypto';
import { DLQ_HEADERS, sessionKey } from '@lambdarec/contracts';
import { createKafka, createRedis, type Redis } from '@lambdarec/clients';
import { DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createSessionStore } from '@lambdarec/stores';
import { buildClickEvent, createTestTopic, sessionStateOf, testLogger, uniqueName, waitFor, type TestTopic } from '@lambdarec/testing';
import { Partitioners, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildSpeedApp } from '../src/app.js';
import { createSpeedConsumer } from '../src/consumer.js';
import { replaySessions, replayStartTime, sessionsAreEmpty } from '../src/replay.js';
import { createSessionApplier } from '../src/session-applier.js';
import type { EventConsumer } from '@lambdarec/clients';

const log = testLogger('speed-test');
const policy = DEFAULT_SESSION_POLICY;
let topic: TestTopic;
let redis: Redis;
let keyPrefix: string;
let producer: Producer;
let speed: EventConsumer;
let dlqConsumer: Consumer;
const deadLetters: KafkaMessage[] = [];
const registry = createMetricsRegistry('speed-test');

beforeAll(async () => {
  const { kafkaBrokers, redisUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
  redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
  keyPrefix = `${uniqueName('speed')}:`;
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'speed-test', log });
  // A plain kafkajs producer stands for any outside system publishing to the topic.
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  speed = createSpeedConsumer({
    kafka,
    topic: topic.topic,
    groupId: uniqueName('speed-group'),
    sessions: createSessionStore({ redis, keyPrefix, policy }),
    policy,
    log,
    registry,
    lagIntervalMs: 200,
  });
  await speed.start();
  dlqConsumer = kafka.consumer({ groupId: uniqueName('dlq-reader') });
  await dlqConsumer.connect();
  await dlqConsumer.subscribe({ topic: topic.dlq, fromBeginning: true });
  await dlqConsumer.run({ eachMessage: async ({ message }) => void deadLetters.push(message) });
});

afterAll(async () => {
  await speed?.close();
  await dlqConsumer?.disconnect();
  await producer?.disconnect();
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis?.quit();
  await topic?.remove();
});

const publish = (...values: unknown[]) =>
  producer.send({
    topic: topic.topic,
    acks: -1,
    messages: values.map((value) => ({
      key: (value as { userId?: string }).userId ?? 'poison',
      value: typeof value === 'string' ? value : JSON.stringify(value),
    })),
  });

const sessionOf = (userId: string) => createSessionStore({ redis, keyPrefix, policy }).read(userId);

describe('speed layer consumer', () => {
  it('records viewed categories and purchased products of events published by an outside producer', async () => {
    const view = buildClickEvent({ userId: 'sp-1', productId: 'p-1', category: 'shoes' });
    const purchase = buildClickEvent({ userId: 'sp-1', productId: 'p-2', type: 'purchase', category: 'socks' });
    await publish(view, purchase);
    const session = await waitFor(async () => {
      const s = await sessionOf('sp-1');
      return s.signals.length === 2 ? s : undefined;
    });
    expect(session.signals.map((s) => s.category).sort()).toEqual(['shoes', 'socks']);
    expect(session.purchases.get('p-2')).toBe(Date.parse(purchase.timestamp!));
    const ttl = await redis.pttl(sessionKey(keyPrefix, 'sp-1'));
    expect(ttl).toBeGreaterThan(policy.purchaseSuppressionMs - 60_000);
  });

  it('lets impressions move nothing: a list shown is not a product chosen', async () => {
    const recommendationId = '0001a000-0000-8000-8000-000000000000';
    const impression = { eventId: randomUUID(), userId: 'sp-imp', type: 'impression', recommendationId, productIds: ['p-1', 'p-2'] };
    const click = buildClickEvent({ userId: 'sp-imp', type: 'click', productId: 'p-2', category: 'hats', recommendationId, position: 1 });
    await publish(impression, click);
    const session = await waitFor(async () => {
      const s = await sessionOf('sp-imp');
      return s.signals.length > 0 ? s : undefined;
    });
    // The click, published after the impression on the same key, is applied: the impression was seen first.
    expect(session.signals.map((s) => [s.type, s.productId])).toEqual([['click', 'p-2']]);
    expect(deadLetters.some((m) => m.key?.toString() === 'sp-imp')).toBe(false);
  });

  it('uses the record timestamp when an outside event has none', async () => {
    const { timestamp: _omit, ...untimed } = buildClickEvent({ userId: 'sp-2' });
    const before = Date.now();
    await publish(untimed);
    const session = await waitFor(async () => {
      const s = await sessionOf('sp-2');
      return s.signals.length === 1 ? s : undefined;
    });
    expect(session.signals[0]!.at).toBeGreaterThanOrEqual(before - 5_000);
  });

  it('skips events older than the session window (late events are the batch layer’s)', async () => {
    const late = buildClickEvent({
      userId: 'sp-3',
      productId: 'old',
      timestamp: new Date(Date.now() - policy.sessionWindowMs - 60_000).toISOString(),
    });
    const fresh = buildClickEvent({ userId: 'sp-3', productId: 'new' });
    await publish(late, fresh);
    const session = await waitFor(async () => {
      const s = await sessionOf('sp-3');
      return s.signals.length > 0 ? s : undefined;
    });
    expect(session.signals.map((s) => s.productId)).toEqual(['new']);
    // Counted once the store's answer reaches the consumer, which may be a moment after this test reads the session.
    await waitFor(
      async () => (/outcome="late"[^\n]* 1$/m.test(await registry.getSingleMetricAsString('lrec_speed_events_total')) ? true : undefined),
      {
        what: 'the late event counted',
      },
    );
  });

  it('keeps a purchase older than the session window but inside its suppression window', async () => {
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    const bought = buildClickEvent({ userId: 'sp-6', type: 'purchase', productId: 'bought-5h-ago', timestamp: hoursAgo(5) });
    const tooOld = buildClickEvent({ userId: 'sp-6', type: 'purchase', productId: 'bought-30h-ago', timestamp: hoursAgo(30) });
    await publish(tooOld, bought);
    const session = await waitFor(async () => {
      const s = await sessionOf('sp-6');
      return s.purchases.size > 0 ? s : undefined;
    });
    expect([...session.purchases.keys()]).toEqual(['bought-5h-ago']);
  });

  it('sends an outside event dated more than 5 minutes ahead to the DLQ, like ingest would refuse it', async () => {
    const future = buildClickEvent({ userId: 'sp-7', productId: 'from-2099', timestamp: '2099-01-01T00:00:00Z' });
    await publish(future, buildClickEvent({ userId: 'sp-7', productId: 'now' }));
    const letter = await waitFor(() => deadLetters.find((m) => m.value?.toString().includes('from-2099')));
    expect(letter.headers?.[DLQ_HEADERS.reason]?.toString()).toMatch(/more than 5 minutes after its arrival/);
    const session = await waitFor(async () => {
      const s = await sessionOf('sp-7');
      return s.signals.length > 0 ? s : undefined;
    });
    expect(session.signals.map((s) => s.productId)).toEqual(['now']);
  });

  it('sends poison records to the DLQ with the reason and keeps consuming', async () => {
    await publish(
      'not json at all',
      { userId: 'sp-4', type: 'view', productId: 'p' },
      buildClickEvent({ userId: 'sp-4', productId: 'after-poison' }),
    );
    const letters = await waitFor(() => (deadLetters.length >= 2 ? deadLetters : undefined));
    const reasons = letters.map((m) => m.headers?.[DLQ_HEADERS.reason]?.toString());
    expect(reasons).toEqual(expect.arrayContaining([expect.stringMatching(/not JSON/), expect.stringMatching(/eventId/)]));
    expect(letters[0]!.headers?.[DLQ_HEADERS.sourceTopic]?.toString()).toBe(topic.topic);
    const session = await waitFor(async () => {
      const s = await sessionOf('sp-4');
      return s.signals.length > 0 ? s : undefined;
    });
    expect(session.signals.map((s) => s.productId)).toEqual(['after-poison']);
  });

  it('a redelivered event leaves the session as it was', async () => {
    const event = buildClickEvent({ userId: 'sp-5' });
    await publish(event);
    const once = await waitFor(async () => {
      const s = await sessionOf('sp-5');
      return s.signals.length === 1 ? s : undefined;
    });
    await publish(event, buildClickEvent({ userId: 'sp-5', productId: 'marker' }));
    const after = await waitFor(async () => {
      const s = await sessionOf('sp-5');
      return s.signals.some((x) => x.productId === 'marker') ? s : undefined;
    });
    expect(after.signals.filter((s) => s.productId !== 'marker')).toEqual(once.signals);
  });

  it('flags a bot: counted once in lrec_bot_flags_total, its events move nothing, and the operator view shows it behind the dashboard credentials', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const start = Date.now() - 3000;
    const burst = Array.from({ length: 3 }, (_, i) =>
      buildClickEvent({ userId: 'sp-bot', productId: 'reloaded', timestamp: new Date(start + i * 1000).toISOString() }),
    );
    await publish(...burst);
    const inspected = await waitFor(async () => {
      const s = await store.inspect('sp-bot');
      return s.botFlag !== undefined ? s : undefined;
    });
    expect(inspected.botFlag?.reason).toBe('repeat');
    expect(inspected.botFlag!.until - policy.botFlagMs).toBeGreaterThan(start + 2000);
    expect(inspected.signals).toHaveLength(3);
    expect((await sessionOf('sp-bot')).signals).toEqual([]);

    const app = await buildSpeedApp({
      log,
      registry: createMetricsRegistry('speed-operator-test'),
      checks: {},
      sessions: store,
      credentials: { user: 'ops', password: 'correct-horse' },
    });
    const authorization = `Basic ${Buffer.from('ops:correct-horse').toString('base64')}`;
    expect((await app.inject('/sessions/sp-bot')).statusCode).toBe(401);
    expect(
      (
        await app.inject({
          url: '/sessions/sp-bot',
          headers: { authorization: `Basic ${Buffer.from('ops:wrong-horse').toString('base64')}` },
        })
      ).statusCode,
    ).toBe(401);
    const res = await app.inject({ url: '/sessions/sp-bot', headers: { authorization } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      userId: 'sp-bot',
      flagged: true,
      // The flag runs from the burst's arrival, not from the times the client gave its events.
      botFlag: { reason: 'repeat', until: new Date(inspected.botFlag!.until).toISOString() },
      events: burst.map((e) => ({ type: 'view', productId: 'reloaded', at: e.timestamp })),
    });
    expect((await app.inject({ url: '/sessions/not%20a%20user', headers: { authorization } })).statusCode).toBe(400);
    // The consumer's registry: the one the service's /metrics serves.
    expect(await registry.metrics()).toMatch(/^lrec_bot_flags_total\{reason="repeat",service="speed-test"\} 1$/m);
    await app.close();
  });

  it('reports ready while in its group and Redis answers', async () => {
    const app = await buildSpeedApp({
      log,
      registry,
      checks: { redis: () => redis.ping(), kafka: () => speed.brokerReachable(), consumer: async () => speed.assertConsuming() },
    });
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(200);
    expect(res.json().dependencies).toEqual({ redis: { status: 'up' }, kafka: { status: 'up' }, consumer: { status: 'up' } });
    // Every test waited for its events to be applied: the lag sampled from the broker comes down to 0 everywhere.
    const lagsOf = (metrics: string) => [...metrics.matchAll(/^lrec_speed_consumer_lag\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
    const metrics = await waitFor(
      async () => {
        const text = (await app.inject('/metrics')).body;
        const lags = lagsOf(text);
        return lags.length > 0 && Math.max(...lags) === 0 ? text : undefined;
      },
      { what: 'lag samples of 0 on every partition', timeoutMs: 15_000 },
    );
    expect(metrics).toMatch(/lrec_speed_events_total\{outcome="applied"/);
    await app.close();
  });

  it('rebuilds the session state from the topic after Redis lost it: flushed, replayed, equal', async () => {
    const snapshot = () => sessionStateOf(redis, keyPrefix);
    const before = await snapshot();
    expect(Object.keys(before).length).toBeGreaterThan(3);
    await redis.del(...Object.keys(before).map((key) => `${keyPrefix}${key}`));
    expect(await sessionsAreEmpty(redis, keyPrefix)).toBe(true);

    const result = await replaySessions({
      kafka: createKafka({ brokers: inject('infra').kafkaBrokers, clientId: 'speed-replay-test', log }),
      topic: topic.topic,
      applier: createSessionApplier({ sessions: createSessionStore({ redis, keyPrefix, policy }), policy }),
      log,
      fromTime: replayStartTime(Date.now(), policy),
    });
    expect(result.applied).toBeGreaterThan(0);
    expect(await snapshot()).toEqual(before);
    expect(await sessionsAreEmpty(redis, keyPrefix)).toBe(false);
  });
});

describe('speed layer consumer applying a backlog in slices', () => {
  it('applies every event of a partition batch larger than one pipeline slice', async () => {
    const { kafkaBrokers } = inject('infra');
    const backlog = await createTestTopic(kafkaBrokers, { partitions: 1 });
    const slicesPrefix = `${uniqueName('speed-slices')}:`;
    const events = Array.from({ length: 25 }, (_, i) => buildClickEvent({ userId: `sl-${i % 7}`, productId: `p-${i}` }));
    // On the topic before the consumer starts, so they arrive in one batch of one partition.
    await producer.send({ topic: backlog.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    const sessions = createSessionStore({ redis, keyPrefix: slicesPrefix, policy });
    const sliced = createSpeedConsumer({
      kafka: createKafka({ brokers: kafkaBrokers, clientId: 'speed-slices-test', log }),
      topic: backlog.topic,
      groupId: uniqueName('speed-slices'),
      sessions,
      policy,
      log,
      registry: createMetricsRegistry('speed-slices-test'),
      applyChunkEvents: 4,
    });
    try {
      await sliced.start();
      const users = [...new Set(events.map((e) => e.userId))];
      const applied = await waitFor(async () => {
        const states = await Promise.all(users.map((userId) => sessions.read(userId)));
        const products = states.flatMap((s) => s.signals.map((signal) => signal.productId));
        return products.length === events.length ? products : undefined;
      });
      expect(applied.sort()).toEqual(events.map((e) => e.productId).sort());
    } finally {
      await sliced.close();
      const keys = await redis.keys(`${slicesPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await backlog.remove();
    }
  });
});

describe('replayStartTime', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  it('goes back the longer of the session and suppression windows, and one session window before a watermark', () => {
    expect(replayStartTime(now, policy)).toBe(now - policy.purchaseSuppressionMs);
    const watermark = now - 3 * 24 * 3_600_000;
    expect(replayStartTime(now, policy, watermark)).toBe(watermark - policy.sessionWindowMs);
    expect(replayStartTime(now, policy, now)).toBe(now - policy.purchaseSuppressionMs);
  });
});
