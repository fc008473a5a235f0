import { createKafka, createRedis, type EventConsumer, type Redis } from '@lambdarec/clients';
import type { ClickEvent } from '@lambdarec/contracts';
import { DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createSessionStore, type SessionStore } from '@lambdarec/stores';
import { createPrivateRedis, createTestTopic, redisServerInstalled, testLogger, uniqueName, type TestTopic } from '@lambdarec/testing';
import type { Kafka } from 'kafkajs';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, inject } from 'vitest';
import { createAppliedOffsetLog, type AppliedOffsetLog } from '../src/applied-offsets.js';
import { createSpeedConsumer } from '../src/consumer.js';

/** The speed consumer of a test file, on a Redis of the file's own (to kill and start again) and a topic of its own. */
export interface SpeedOnPrivateRedis {
  readonly available: boolean;
  readonly privateRedis: ReturnType<typeof createPrivateRedis>;
  readonly kafka: Kafka;
  readonly topic: TestTopic;
  readonly redis: Redis;
  readonly sessions: SessionStore;
  readonly appliedOffsets: AppliedOffsetLog;
  readonly registry: ReturnType<typeof createMetricsRegistry>;
  /** Sends events to the topic, keyed by user, as ingest does. */
  send(events: readonly ClickEvent[]): Promise<void>;
}

/**
 * Sets the consumer up in beforeAll and tears it down in afterAll (after `beforeClose`, for what
 * the test wired on top). Fault injection needs the Redis to be private: the shared one serves
 * every other test. Skipped (available false) where redis-server is not installed.
 */
export function useSpeedOnPrivateRedis({
  name,
  keyPrefix,
  persistence,
  beforeClose,
}: {
  name: string;
  keyPrefix: string;
  persistence: 'aof' | 'none';
  beforeClose?: () => Promise<void>;
}): SpeedOnPrivateRedis {
  const available = redisServerInstalled();
  const log = testLogger(name);
  const policy = DEFAULT_SESSION_POLICY;
  const privateRedis = createPrivateRedis({ persistence });
  const appliedOffsets = createAppliedOffsetLog();
  const registry = createMetricsRegistry(name);
  let kafka: Kafka;
  let topic: TestTopic;
  let producer: Producer;
  let redis: Redis;
  let sessions: SessionStore;
  let speed: EventConsumer;

  beforeAll(async () => {
    if (!available) return;
    await privateRedis.start();
    const { kafkaBrokers } = inject('infra');
    topic = await createTestTopic(kafkaBrokers, { partitions: 2 });
    kafka = createKafka({ brokers: kafkaBrokers, clientId: name, log });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    redis = createRedis({ url: privateRedis.url, log, purpose: 'requests' });
    sessions = createSessionStore({ redis, keyPrefix, policy });
    speed = createSpeedConsumer({ kafka, topic: topic.topic, groupId: uniqueName(name), sessions, policy, log, registry, appliedOffsets });
    await speed.start();
  });

  afterAll(async () => {
    await beforeClose?.();
    await speed?.close();
    await producer?.disconnect();
    redis?.disconnect();
    await privateRedis.remove();
    await topic?.remove();
  });

  return {
    available,
    privateRedis,
    appliedOffsets,
    registry,
    get kafka() {
      return kafka;
    },
    get topic() {
      return topic;
    },
    get redis() {
      return redis;
    },
    get sessions() {
      return sessions;
    },
    async send(events) {
      await producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    },
  };
}
