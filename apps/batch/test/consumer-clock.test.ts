import { createEventConsumer, createKafka, type EventConsumer } from '@lambdarec/clients';
import type { ConsumedEvent } from '@lambdarec/contracts';
import { buildClickEvent, createTestTopic, testLogger, uniqueName, waitFor, type TestTopic } from '@lambdarec/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordingMetrics } from './recording-metrics.js';

// The shared consumer on a host whose clock runs 10 minutes behind ingest's and the broker's.
const log = testLogger('consumer-clock-test');
const CONSUMER_CLOCK_LAG_MS = 10 * 60_000;
let topic: TestTopic;
let consumer: EventConsumer;
let producer: Producer;
const applied: ConsumedEvent[] = [];
const { metrics, deadLettered } = recordingMetrics();

beforeAll(async () => {
  const { kafkaBrokers } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 1 });
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'consumer-clock-test', log });
  consumer = createEventConsumer({
    kafka,
    topic: topic.topic,
    groupId: uniqueName('consumer-clock'),
    log,
    metrics,
    clock: () => Date.now() - CONSUMER_CLOCK_LAG_MS,
    handle: async ({ events }) => void applied.push(...events),
  });
  await consumer.start();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  await consumer?.close();
  await producer?.disconnect();
  await topic?.remove();
});

describe('a consumer whose clock runs 10 minutes behind', () => {
  it('applies the events ingest accepted (dated now, and 4 minutes ahead), and still dead-letters one dated an hour after its arrival', async () => {
    // As ingest sends them: its receipt time when the client gave none, or a client clock 4 minutes fast.
    const accepted = [
      buildClickEvent({ userId: 'clock-user' }),
      buildClickEvent({ userId: 'clock-user', timestamp: new Date(Date.now() + 4 * 60_000).toISOString() }),
    ];
    const tooFarAhead = buildClickEvent({ userId: 'clock-user', timestamp: new Date(Date.now() + 60 * 60_000).toISOString() });
    await producer.send({
      topic: topic.topic,
      acks: -1,
      messages: [...accepted, tooFarAhead].map((e) => ({ key: e.userId, value: JSON.stringify(e) })),
    });

    await waitFor(async () => (applied.length + deadLettered.length >= 3 ? true : undefined), {
      what: 'all three records judged',
      timeoutMs: 30_000,
    });
    expect(applied.map((consumed) => consumed.event.eventId)).toEqual(accepted.map((e) => e.eventId));
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]).toMatch(/more than 5 minutes after its arrival/);
  });
});
