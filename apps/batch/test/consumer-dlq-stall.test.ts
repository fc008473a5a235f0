import { createEventConsumer, createKafka, type EventConsumer } from '@lambdarec/clients';
import { DLQ_HEADERS } from '@lambdarec/contracts';
import {
  buildClickEvent,
  createPrivateKafka,
  createTestTopic,
  kafkaLibsDir,
  restartablePort,
  testLogger,
  uniqueName,
  waitFor,
  type PrivateKafka,
  type TestTopic,
} from '@lambdarec/testing';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The DLQ producer is idempotent, and kafkajs rolls a partition's sequence number back when a send
// fails, even when a stalled broker appended its batch. A poison batch whose DLQ send failed for
// good is redelivered: its next DLQ send, with another record count, was refused as out of order
// for ever (and one with the same count but other records acknowledged and never written).
const log = testLogger('consumer-dlq-stall-test');
const available = kafkaLibsDir() !== undefined;
/** Attempts after the first: with 1 s per attempt, a DLQ send fails for good after about 5 s. */
const RETRIES = 3;
/** What kafkajs logged for the consumer's client: its producer's last failed attempt ends the send. */
const kafkaLines: Array<{ namespace?: string; retryCount?: number; msg: string }> = [];
let broker: PrivateKafka;
let topic: TestTopic;
let kafka: Kafka;
let producer: Producer;
const clients: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  if (!available) return;
  const base = restartablePort();
  broker = createPrivateKafka(base, base + 1);
  await broker.start();
  topic = await createTestTopic(broker.brokers, { partitions: 1 });
  const kafkaLog = pino(
    { level: 'warn' },
    { write: (line: string) => void kafkaLines.push(JSON.parse(line) as (typeof kafkaLines)[number]) },
  );
  // A request waits 1 s instead of 30 s, and few retries: a DLQ send's retry budget is seconds.
  kafka = createKafka({
    brokers: broker.brokers,
    clientId: 'consumer-dlq-stall-test',
    log: kafkaLog,
    config: { requestTimeout: 1_000, retry: { retries: RETRIES, initialRetryTime: 100, maxRetryTime: 500 } },
  });
  producer = new Kafka({ brokers: broker.brokers, clientId: 'consumer-dlq-stall-producer', logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
}, 120_000);

afterAll(async () => {
  // A paused broker would hold every disconnect for its request timeout.
  broker?.resume();
  await Promise.allSettled(clients.splice(0).map((close) => close()));
  await producer?.disconnect();
  await broker?.remove();
});

const poisonOf = (userId: string, count: number) =>
  Array.from({ length: count }, () => JSON.stringify({ ...buildClickEvent({ userId }), addedByAnotherTeam: 'x' }));

async function produce(values: readonly string[]): Promise<void> {
  await producer.send({ topic: topic.topic, acks: -1, messages: values.map((value) => ({ key: 'stalled-user', value })) });
}

/** Source offsets in the DLQ, read from the start until every one of `expected` is seen. */
async function dlqSourceOffsets(expected: readonly string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const reader = kafka.consumer({ groupId: uniqueName('dlq-reader') });
  await reader.connect();
  await reader.subscribe({ topic: topic.dlq, fromBeginning: true });
  await reader.run({ eachMessage: async ({ message }) => void seen.add(message.headers![DLQ_HEADERS.sourceOffset]!.toString()) });
  try {
    await waitFor(() => (expected.every((offset) => seen.has(offset)) ? true : undefined), {
      what: 'every poison record in the DLQ',
      timeoutMs: 10_000,
      intervalMs: 100,
    }).catch(() => undefined);
  } finally {
    await reader.disconnect();
  }
  return seen;
}

async function lagOf(groupId: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(topic.topic),
      admin.fetchOffsets({ groupId, topics: [topic.topic] }),
    ]);
    const at = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
    return ends.reduce((lag, { partition, high }) => lag + Number(high) - Math.max(0, at.get(partition) ?? 0), 0);
  } finally {
    await admin.disconnect();
  }
}

describe.runIf(available)('a broker stalled while the consumer sends dead letters, for longer than a DLQ send may retry', () => {
  it('when more poison arrives before the batch is redelivered, every poison record goes to the DLQ, the valid events are applied and lag reaches 0', async () => {
    // Offsets 0-2 poison, 3 valid: one batch. Offsets 4-5 poison and 6 valid arrive while it is handled.
    const first = buildClickEvent({ userId: 'stalled-user' });
    const later = buildClickEvent({ userId: 'stalled-user' });
    await produce([...poisonOf('stalled-user', 3), JSON.stringify(first)]);

    const applied = new Set<string>();
    let stalled = false;
    let fatal: Error | undefined;
    const groupId = uniqueName('dlq-stall');
    const consumer: EventConsumer = createEventConsumer({
      kafka,
      topic: topic.topic,
      groupId,
      log,
      onFatal: (err) => (fatal = err),
      handle: async ({ events }) => {
        for (const { event } of events) applied.add(event.eventId);
        if (stalled || !applied.has(first.eventId)) return;
        // Dead letters are sent right after the handler: they meet a stalled broker.
        stalled = true;
        await produce([...poisonOf('stalled-user', 2), JSON.stringify(later)]);
        broker.pause();
      },
    });
    clients.push(() => consumer.close());
    await consumer.start();

    try {
      await waitFor(() => (kafkaLines.some((line) => line.namespace === 'Producer' && line.retryCount === RETRIES) ? true : undefined), {
        what: 'the stalled DLQ send to fail for good',
        timeoutMs: 30_000,
        intervalMs: 100,
      });
    } finally {
      broker.resume();
    }

    // The redelivered batch has 5 dead letters where the stalled send had 3.
    const stopped = await waitFor(async () => fatal ?? (applied.has(later.eventId) && (await lagOf(groupId)) === 0 ? null : undefined), {
      what: 'the valid event after the stall applied, and lag 0',
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    expect(stopped, `the consumer stopped: ${stopped?.message}`).toBeNull();
    const poisonOffsets = ['0', '1', '2', '4', '5'];
    const inDlq = await dlqSourceOffsets(poisonOffsets);
    expect(
      poisonOffsets.filter((offset) => !inDlq.has(offset)),
      'poison records missing from the DLQ',
    ).toEqual([]);
    expect(applied).toEqual(new Set([first.eventId, later.eventId]));
  }, 60_000);
});
