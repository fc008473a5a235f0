import { createKafka, createRedis, redisEpoch, type EventConsumer, type Redis } from '@lambdarec/clients';
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
import { createAppliedOffsetLog } from '../src/applied-offsets.js';
import { createSpeedConsumer } from '../src/consumer.js';
import { createFailoverReplay, type FailoverReplay } from '../src/failover-replay.js';
import { replaySessions } from '../src/replay.js';
import { createSessionApplier } from '../src/session-applier.js';

// A Redis of this test's own, without persistence: killed and started again, it comes back empty
// with a new run id, the worst a failover can do (a promoted replica that had received nothing).
const redisServer = redisServerInstalled();
const log = testLogger('failover-replay-test');
const policy = DEFAULT_SESSION_POLICY;
const keyPrefix = 'failover:';
const privateRedis = createPrivateRedis({ persistence: 'none' });
let topic: TestTopic;
let producer: Producer;
let speed: EventConsumer;
let watcher: FailoverReplay;
let redis: Redis;
let registry: ReturnType<typeof createMetricsRegistry>;

beforeAll(async () => {
  if (!redisServer) return;
  await privateRedis.start();
  const { kafkaBrokers } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 2 });
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'failover-replay-test', log });
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  redis = createRedis({ url: privateRedis.url, log, purpose: 'requests' });
  const sessions = createSessionStore({ redis, keyPrefix, policy });
  registry = createMetricsRegistry('failover-replay-test');
  // The speed layer's own wiring (main.ts): the consumer tells the log what it applied, and the
  // watcher replays from it when the Redis epoch changes.
  const appliedOffsets = createAppliedOffsetLog();
  speed = createSpeedConsumer({
    kafka,
    topic: topic.topic,
    groupId: uniqueName('speed-failover'),
    sessions,
    policy,
    log,
    registry,
    appliedOffsets,
  });
  await speed.start();
  const applier = createSessionApplier({ sessions, policy });
  watcher = createFailoverReplay({
    epoch: () => redisEpoch(redis),
    appliedOffsets,
    replay: (startOffsets) => replaySessions({ kafka, topic: topic.topic, applier, log, fromTime: Date.now(), startOffsets }),
    log,
    registry,
    intervalMs: 200,
  });
  watcher.start();
});

afterAll(async () => {
  await watcher?.close();
  await speed?.close();
  await producer?.disconnect();
  redis?.disconnect();
  await privateRedis.remove();
  await topic?.remove();
});

const stored = async (users: readonly string[]) =>
  Object.fromEntries(await Promise.all(users.map(async (u) => [u, await redis.get(`${keyPrefix}session:${u}`)] as const)));

describe.skipIf(!redisServer)('speed layer after Redis lost acknowledged writes', () => {
  it('notices the new epoch and applies again, from Kafka, what it had written: every session comes back as it was, with no new event', async () => {
    const events = Array.from({ length: 12 }, (_, i) => buildClickEvent({ userId: `failover-${i % 4}`, productId: `p${i}` }));
    const users = [...new Set(events.map((e) => e.userId))];
    await producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    const before = await waitFor(
      async () => {
        const counts = await Promise.all(users.map((u) => createSessionStore({ redis, keyPrefix, policy }).read(u)));
        return counts.every((s) => s.signals.length === 3) ? stored(users) : undefined;
      },
      { what: 'the sessions', timeoutMs: 30_000 },
    );
    // Let the watcher confirm the epoch with every write in it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    await privateRedis.kill();
    await privateRedis.start();

    const after = await waitFor(
      async () => {
        const now = await stored(users);
        return users.every((u) => now[u] === before[u]) ? now : undefined;
      },
      { what: 'the sessions to come back from Kafka', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(after).toEqual(before);
    // It was the watcher: it saw one new epoch (the restarted server's run id).
    expect(await registry.getSingleMetricAsString('lrec_speed_redis_epoch_changes_total')).toMatch(
      /^lrec_speed_redis_epoch_changes_total(\{[^}]*\})? 1$/m,
    );
  });
});
