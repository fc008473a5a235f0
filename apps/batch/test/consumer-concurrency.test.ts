import { createEventConsumer, createKafka, type EventConsumer } from '@lambdarec/clients';
import { DLQ_HEADERS, productEventsOf } from '@lambdarec/contracts';
import { buildClickEvent, createTestTopic, testLogger, uniqueName, waitFor, type TestTopic } from '@lambdarec/testing';
import { Partitioners, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The shared consumer handling several partitions at once, as the speed layer runs it.
const log = testLogger('consumer-concurrency-test');
let topic: TestTopic;
let consumer: EventConsumer;
let producer: Producer;
let dlqReader: Consumer;
const deadLetters: KafkaMessage[] = [];
const applied: string[] = [];
let inFlight = 0;
let mostInFlight = 0;

beforeAll(async () => {
  const { kafkaBrokers } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 6 });
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'consumer-concurrency-test', log });
  // Idempotent, so that a send retried on a slow broker does not put a record on the topic twice
  // (a duplicated poison record at a new offset would be dead-lettered once more, rightly).
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  // Everything is on the topic before the consumer starts, so every partition has a batch waiting.
  const messages = Array.from({ length: 60 }, (_, i) =>
    i % 5 === 0
      ? { key: `user-${i}`, value: `not json ${i}` }
      : { key: `user-${i}`, value: JSON.stringify(buildClickEvent({ userId: `user-${i}`, productId: `p-${i}` })) },
  );
  await producer.send({ topic: topic.topic, acks: -1, messages });
  consumer = createEventConsumer({
    kafka,
    topic: topic.topic,
    groupId: uniqueName('concurrent'),
    log,
    partitionsConsumedConcurrently: 6,
    handle: async ({ events }) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      // Long enough for the other partitions' batches to arrive while this one is in hand.
      await new Promise((resolve) => setTimeout(resolve, 200));
      applied.push(...productEventsOf(events).map((e) => e.event.productId));
      inFlight--;
    },
  });
  dlqReader = kafka.consumer({ groupId: uniqueName('dlq-reader') });
  await dlqReader.connect();
  await dlqReader.subscribe({ topic: topic.dlq, fromBeginning: true });
  await dlqReader.run({ eachMessage: async ({ message }) => void deadLetters.push(message) });
  await consumer.start();
});

afterAll(async () => {
  await consumer?.close();
  await dlqReader?.disconnect();
  await producer?.disconnect();
  await topic?.remove();
});

describe('partitions consumed concurrently', () => {
  it('handles partitions at once, applies every valid record and dead-letters every poison record', async () => {
    await waitFor(async () => (applied.length >= 48 && deadLetters.length >= 12 ? true : undefined), {
      what: 'all records handled',
      timeoutMs: 30_000,
    });
    // Batches of different partitions were in the handler together.
    expect(mostInFlight).toBeGreaterThan(1);
    // At least once: a rebalance while the group forms may hand a batch over twice.
    expect([...new Set(applied)].sort()).toEqual(
      Array.from({ length: 60 }, (_, i) => i)
        .filter((i) => i % 5 !== 0)
        .map((i) => `p-${i}`)
        .sort(),
    );
    // Concurrent batches' dead letters went out one send at a time, so none was lost to a refused
    // concurrent idempotent send: every poison record's offset is there.
    const offsets = deadLetters.map((m) => `${m.headers![DLQ_HEADERS.sourcePartition]}:${m.headers![DLQ_HEADERS.sourceOffset]}`);
    expect(new Set(offsets).size).toBe(12);
    expect([...new Set(deadLetters.map((m) => m.value!.toString()))].sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `not json ${i * 5}`).sort(),
    );
    expect(consumer.isRunning()).toBe(true);
  });
});
