import { createEventConsumer, createKafka, type EventConsumer } from '@lambdarec/clients';
import { buildClickEvent, createTestTopic, testLogger, uniqueName, waitFor, type TestTopic } from '@lambdarec/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { recordingMetrics } from './recording-metrics.js';

// The shared consumer's own signals: lag read from the broker, and readiness that tells a broker
// outage from a consumer that keeps crashing.
const log = testLogger('consumer-signals-test');
let topic: TestTopic;
let producer: Producer;
const consumers: EventConsumer[] = [];

const publish = (n: number) =>
  producer.send({
    topic: topic.topic,
    acks: -1,
    messages: Array.from({ length: n }, () => {
      const event = buildClickEvent({ userId: 'one-user' });
      return { key: event.userId, value: JSON.stringify(event) };
    }),
  });

beforeEach(async () => {
  const brokers = inject('infra').kafkaBrokers;
  topic = await createTestTopic(brokers, { partitions: 1 });
  producer = createKafka({ brokers, clientId: 'signals-producer', log }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close().catch(() => undefined)));
  await producer?.disconnect();
  await topic?.remove();
});

describe('consumer lag', () => {
  it("is sampled from the broker's high watermark on a timer, also while the consumer is stuck", async () => {
    const brokers = inject('infra').kafkaBrokers;
    const { metrics, lags } = recordingMetrics();
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const consumer = createEventConsumer({
      kafka: createKafka({ brokers, clientId: 'signals-lag', log }),
      topic: topic.topic,
      groupId: uniqueName('lag'),
      log,
      metrics,
      lagIntervalMs: 200,
      handle: () => stuck,
    });
    consumers.push(consumer);
    await consumer.start();
    await publish(20);
    // The handler never returns, so no batch ever finishes: only the timer can report this lag.
    await waitFor(async () => (lags.at(-1) === 20 ? true : undefined), { what: 'a lag of 20 while stuck', timeoutMs: 20_000 });
    release();
    await waitFor(async () => (lags.at(-1) === 0 ? true : undefined), { what: 'the lag back to 0', timeoutMs: 20_000 });
  });
});

describe('readiness', () => {
  it('reports a crash-looping consumer as such while the broker is reachable', async () => {
    const brokers = inject('infra').kafkaBrokers;
    const { metrics, crashes } = recordingMetrics();
    const consumer = createEventConsumer({
      kafka: createKafka({
        brokers,
        clientId: 'signals-crash',
        log,
        config: { retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } },
      }),
      topic: topic.topic,
      groupId: uniqueName('crash'),
      log,
      metrics,
      crashLoopThreshold: 2,
      crashWindowMs: 60_000,
      // A store that is never reachable: retried, never dead-lettered, so the consumer keeps restarting.
      handle: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      },
    });
    consumers.push(consumer);
    await consumer.start();
    await waitFor(async () => (consumer.isRunning() ? true : undefined), { what: 'the consumer in its group' });
    expect(() => consumer.assertConsuming()).not.toThrow();
    await publish(1);
    await waitFor(
      async () => {
        try {
          consumer.assertConsuming();
          return undefined;
        } catch (err) {
          return /crash-looping/.test((err as Error).message) ? true : undefined;
        }
      },
      { what: 'readiness to say crash-looping', timeoutMs: 30_000 },
    );
    expect(crashes()).toBeGreaterThanOrEqual(2);
    await expect(consumer.brokerReachable()).resolves.toBeUndefined();
  });

  it('a consumer that crashed a few times (a coordinator still loading at start-up) and then stays in its group is ready again', async () => {
    const brokers = inject('infra').kafkaBrokers;
    const { metrics, crashes } = recordingMetrics();
    let failures = 15;
    const consumer = createEventConsumer({
      kafka: createKafka({
        brokers,
        clientId: 'signals-recovered',
        log,
        config: { retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } },
      }),
      topic: topic.topic,
      groupId: uniqueName('recovered'),
      log,
      metrics,
      crashLoopThreshold: 2,
      crashWindowMs: 60_000,
      crashLoopSettleMs: 2_000,
      // The store refuses a few times (each refusal is retried, and crashes the consumer once its retries run out), then takes everything.
      handle: async () => {
        if (failures-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      },
    });
    consumers.push(consumer);
    await consumer.start();
    await waitFor(async () => (consumer.isRunning() ? true : undefined), { what: 'the consumer in its group' });
    await publish(1);
    await waitFor(async () => (crashes() >= 2 ? true : undefined), { what: 'two crashes', timeoutMs: 60_000 });
    // Well inside the crash window, and past the settling time in its group.
    await waitFor(
      async () => {
        try {
          consumer.assertConsuming();
          return true;
        } catch {
          return undefined;
        }
      },
      { what: 'readiness back', timeoutMs: 45_000 },
    );
    expect(crashes()).toBeGreaterThanOrEqual(2);
    expect(failures).toBeLessThan(0);
  });
});
