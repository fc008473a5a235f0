import { createKafka, createRedis, type EventConsumer, type Redis } from '@lambdarec/clients';
import { DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createSessionStore } from '@lambdarec/stores';
import {
  buildClickEvent,
  createPrivateRedis,
  createTestTopic,
  redisServerInstalled,
  testLogger,
  uniqueName,
  waitFor,
  type TestTopic,
} from '@lambdarec/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSpeedConsumer } from '../src/consumer.js';

// Fault injection needs a Redis of this test's own to stop and start; the shared one serves every
// other test. It writes every command to its append-only file, so a restart loses nothing.
const redisServer = redisServerInstalled();
const log = testLogger('speed-outage-test');
const policy = DEFAULT_SESSION_POLICY;
const privateRedis = createPrivateRedis({ persistence: 'aof' });
let topic: TestTopic;
let producer: Producer;
let speed: EventConsumer;
let redis: Redis;

beforeAll(async () => {
  if (!redisServer) return;
  await privateRedis.start();
  const { kafkaBrokers } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 2 });
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'speed-outage-test', log });
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  redis = createRedis({ url: privateRedis.url, log, purpose: 'requests' });
  speed = createSpeedConsumer({
    kafka,
    topic: topic.topic,
    groupId: uniqueName('speed-outage'),
    sessions: createSessionStore({ redis, keyPrefix: 'outage:', policy }),
    policy,
    log,
    registry: createMetricsRegistry('speed-outage-test'),
  });
  await speed.start();
});

afterAll(async () => {
  await speed?.close();
  await producer?.disconnect();
  redis?.disconnect();
  await privateRedis.remove();
  await topic?.remove();
});

const sessionOf = (userId: string) => createSessionStore({ redis, keyPrefix: 'outage:', policy }).read(userId);

describe.skipIf(!redisServer)('speed layer during a Redis outage', () => {
  it('loses no event: what arrives while Redis is down is applied once it is back', async () => {
    const before = buildClickEvent({ userId: 'outage-1', productId: 'before' });
    await producer.send({ topic: topic.topic, acks: -1, messages: [{ key: before.userId, value: JSON.stringify(before) }] });
    await waitFor(async () => ((await sessionOf('outage-1')).signals.length === 1 ? true : undefined), { what: 'the first event' });

    await privateRedis.kill();
    const during = [
      buildClickEvent({ userId: 'outage-1', productId: 'during-1' }),
      buildClickEvent({ userId: 'outage-1', productId: 'during-2', type: 'purchase' }),
      buildClickEvent({ userId: 'outage-2', productId: 'during-3' }),
    ];
    await producer.send({ topic: topic.topic, acks: -1, messages: during.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    // Long enough for the consumer to fetch them and fail against the missing Redis.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await privateRedis.start();

    const first = await waitFor(
      async () => {
        const session = await sessionOf('outage-1');
        return session.signals.length === 3 ? session : undefined;
      },
      { what: 'the events sent during the outage', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(first.signals.map((s) => s.productId).sort()).toEqual(['before', 'during-1', 'during-2']);
    expect([...first.purchases.keys()]).toEqual(['during-2']);
    expect((await sessionOf('outage-2')).signals.map((s) => s.productId)).toEqual(['during-3']);
  });
});
