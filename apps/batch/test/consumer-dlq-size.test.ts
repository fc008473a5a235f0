import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as zlib from 'node:zlib';
import { createEventConsumer, createKafka, RecordRejectedError, registerCompressionCodecs, type EventConsumer } from '@lambdarec/clients';
import { DLQ_HEADERS, dlqTopicFor, productEventsOf } from '@lambdarec/contracts';
import { buildClickEvent, createTestTopic, testLogger, uniqueName, waitFor, type TestTopic } from '@lambdarec/testing';
import kafkajs, { type Kafka, type KafkaMessage } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';

// The broker's default max.message.bytes is 1 MiB: more poison than that in one fetched batch made
// the consumer's single DLQ send fail with MESSAGE_TOO_LARGE, which kafkajs does not retry, and
// both the speed layer and the archiver stopped.
const log = testLogger('consumer-dlq-size-test');
let brokers: string[];
let kafka: Kafka;
// Clients are closed together (each waits out a fetch in flight), then the topics are removed.
const clients: Array<() => Promise<unknown>> = [];
const topics: Array<() => Promise<unknown>> = [];
const cleanUp = async () => {
  await Promise.allSettled(clients.splice(0).map((close) => close()));
  await Promise.allSettled(topics.splice(0).map((remove) => remove()));
};

beforeAll(() => {
  brokers = inject('infra').kafkaBrokers;
  kafka = createKafka({ brokers, clientId: 'consumer-dlq-size-test', log });
});

afterEach(cleanUp);
afterAll(cleanUp);

/** kcat (librdkafka), a producer from outside the project: every line is `key<TAB>value`, in order. */
function produceWithKcat(topic: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const kcat = spawn('kcat', ['-b', brokers.join(','), '-P', '-t', topic, '-K', '\t', '-X', 'enable.idempotence=true'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    kcat.stderr.on('data', (chunk) => (stderr += chunk));
    kcat.on('error', reject);
    kcat.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited with ${code}: ${stderr}`))));
    kcat.stdin.end(`${lines.join('\n')}\n`);
  });
}

/**
 * The shared consumer of the archiver and the speed layer, started once the records are on the
 * topic, so that they come in few large batches, as after a pause. A fatal error is kept for the
 * test to report instead of being raised as uncaught.
 */
async function startConsumer(topic: string, handle: Parameters<typeof createEventConsumer>[0]['handle']) {
  const groupId = uniqueName('dlq-size');
  let fatal: Error | undefined;
  const consumer: EventConsumer = createEventConsumer({ kafka, topic, groupId, log, handle, onFatal: (err) => (fatal = err) });
  clients.push(() => consumer.close());
  await consumer.start();
  return { groupId, fatal: () => fatal };
}

/** Waits until `check` holds, failing at once with the consumer's fatal error if it stopped. */
async function waitUnlessFatal(fatal: () => Error | undefined, check: () => Promise<boolean> | boolean, what: string) {
  const stopped = await waitFor(async () => (fatal() !== undefined ? fatal() : (await check()) ? null : undefined), {
    what,
    timeoutMs: 40_000,
    intervalMs: 100,
  });
  expect(stopped, `the consumer stopped: ${stopped?.message}`).toBeNull();
}

/** Every record on a DLQ topic (one partition), read from the start until `count` distinct source offsets are seen. */
async function readDlq(dlq: string, count: number): Promise<Map<string, KafkaMessage>> {
  const bySourceOffset = new Map<string, KafkaMessage>();
  const reader = kafka.consumer({ groupId: uniqueName('dlq-reader'), maxBytesPerPartition: 16 * 1024 * 1024 });
  clients.push(() => reader.disconnect());
  await reader.connect();
  await reader.subscribe({ topic: dlq, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => void bySourceOffset.set(message.headers![DLQ_HEADERS.sourceOffset]!.toString(), message),
  });
  await waitFor(() => (bySourceOffset.size >= count ? true : undefined), {
    what: `${count} records in ${dlq}`,
    timeoutMs: 40_000,
    intervalMs: 100,
  });
  return bySourceOffset;
}

/** The group's lag on the topic: the high watermarks less its committed offsets. */
async function lagOf(topic: string, groupId: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const at = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
    return ends.reduce((lag, { partition, high }) => lag + Number(high) - Math.max(0, at.get(partition) ?? 0), 0);
  } finally {
    await admin.disconnect();
  }
}

async function testTopic(): Promise<TestTopic> {
  const topic = await createTestTopic(brokers, { partitions: 1 });
  topics.push(() => topic.remove());
  return topic;
}

describe('dead letters of one batch that together exceed what the broker takes in one request', () => {
  it('when 6,000 records with an unknown field come from kcat before a valid event of the same key, all go to the DLQ and the valid event is applied', async () => {
    const topic = await testTopic();
    const userId = 'flooded-user';
    // About 200 bytes each: a valid event but for one field the schema does not know.
    const poison = Array.from({ length: 6_000 }, () =>
      JSON.stringify({ ...buildClickEvent({ userId }), addedByAnotherTeam: 'x'.repeat(20) }),
    );
    const valid = buildClickEvent({ userId });
    await produceWithKcat(
      topic.topic,
      [...poison, JSON.stringify(valid)].map((value) => `${userId}\t${value}`),
    );

    const applied = new Set<string>();
    const { groupId, fatal } = await startConsumer(topic.topic, async ({ events }) => {
      for (const { event } of events) applied.add(event.eventId);
    });
    const reading = readDlq(topic.dlq, poison.length);
    await waitUnlessFatal(fatal, () => applied.has(valid.eventId), 'the valid event after the poison');

    const deadLetters = await reading;
    expect([...deadLetters.keys()].map(Number).sort((a, b) => a - b)).toEqual(poison.map((_, offset) => offset));
    expect(deadLetters.get('0')!.headers![DLQ_HEADERS.reason]!.toString()).toMatch(/addedByAnotherTeam/);
    expect(deadLetters.get('5999')!.value!.toString()).toBe(poison[5_999]);
    expect(applied).toEqual(new Set([valid.eventId]));
    await waitUnlessFatal(fatal, async () => (await lagOf(topic.topic, groupId)) === 0, 'lag 0');
  });

  it('when the store refuses 4,000 events of one batch, all go to the DLQ and a later event is applied', async () => {
    const topic = await testTopic();
    const userId = 'refused-user';
    const refused = Array.from({ length: 4_000 }, () => buildClickEvent({ userId, productId: 'refused', category: 'c'.repeat(100) }));
    const later = buildClickEvent({ userId, productId: 'kept' });
    await produceWithKcat(
      topic.topic,
      [...refused, later].map((event) => `${userId}\t${JSON.stringify(event)}`),
    );

    const applied = new Set<string>();
    const { groupId, fatal } = await startConsumer(topic.topic, async ({ events }) => {
      if (productEventsOf(events).some(({ event }) => event.productId === 'refused'))
        throw new RecordRejectedError('the store takes no product named "refused"');
      for (const { event } of events) applied.add(event.eventId);
    });
    const reading = readDlq(topic.dlq, refused.length);
    await waitUnlessFatal(fatal, () => applied.has(later.eventId), 'the event after the refused ones');

    const deadLetters = await reading;
    expect(deadLetters.size).toBe(refused.length);
    expect(deadLetters.get('3999')!.headers![DLQ_HEADERS.reason]!.toString()).toMatch(/^refused by the store after 3 attempts/);
    await waitUnlessFatal(fatal, async () => (await lagOf(topic.topic, groupId)) === 0, 'lag 0');
  });
});

describe('a dead letter too large for the DLQ on its own', () => {
  it('goes to the DLQ compressed when that fits, or else without its value and with its size in a header; the partition moves on', async () => {
    // A source topic that takes larger records than the DLQ (the broker's default 1 MiB).
    const topic = uniqueName('t.events');
    const admin = kafka.admin();
    await admin.connect();
    topics.push(async () => {
      await admin.deleteTopics({ topics: [topic, dlqTopicFor(topic)] });
      await admin.disconnect();
    });
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: String(4 * 1024 * 1024) }] },
        { topic: dlqTopicFor(topic), numPartitions: 1, replicationFactor: 1 },
      ],
    });
    const userId = 'big-records';
    const compressible = JSON.stringify({ userId, note: 'a'.repeat(2 * 1024 * 1024) });
    // Random bytes as hex: gzip gets them to about half, still more than 1 MiB.
    const incompressible = JSON.stringify({ userId, note: randomBytes(1024 * 1024 + 100_000).toString('hex') });
    const valid = buildClickEvent({ userId });
    const producer = kafka.producer();
    clients.push(() => producer.disconnect());
    await producer.connect();
    // One send each: together they are more than the topic takes in one batch.
    for (const value of [compressible, incompressible, JSON.stringify(valid)]) {
      await producer.send({ topic, acks: -1, messages: [{ key: userId, value, headers: { 'trace-id': randomUUID() } }] });
    }

    const applied = new Set<string>();
    const { fatal } = await startConsumer(topic, async ({ events }) => {
      for (const { event } of events) applied.add(event.eventId);
    });
    const reading = readDlq(dlqTopicFor(topic), 2);
    await waitUnlessFatal(fatal, () => applied.has(valid.eventId), 'the valid event after the large ones');

    const deadLetters = await reading;
    const whole = deadLetters.get('0')!;
    expect(whole.value!.toString()).toBe(compressible);
    expect(whole.headers!['trace-id']).toBeDefined();
    expect(whole.headers![DLQ_HEADERS.omittedBytes]).toBeUndefined();
    const omitted = deadLetters.get('1')!;
    expect(omitted.value).toBeNull();
    expect(omitted.key!.toString()).toBe(userId);
    expect(Number(omitted.headers![DLQ_HEADERS.omittedBytes]!.toString())).toBeGreaterThan(incompressible.length);
    expect(omitted.headers![DLQ_HEADERS.reason]!.toString()).toMatch(/^not a valid event|userId|type/);
  });
});

describe('a decompression bomb on the topic', () => {
  /** Zigzag varint, as Kafka's record format writes lengths and deltas. */
  const varint = (value: number): Buffer => {
    const bytes: number[] = [];
    let n = (value << 1) ^ (value >> 31);
    do {
      bytes.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n !== 0);
    return Buffer.from(bytes);
  };

  /**
   * `count` records of `valueBytes` zeros each, as the gzip payload of one record batch. The broker
   * reads every record of a compressed batch before it takes it, so they must be well formed.
   */
  async function gzippedRecordsOfZeros(count: number, valueBytes: number): Promise<Buffer> {
    const gzip = zlib.createGzip({ level: 9 });
    const parts: Buffer[] = [];
    gzip.on('data', (part: Buffer) => parts.push(part));
    const ended = new Promise((resolve) => gzip.on('end', resolve));
    const zeros = Buffer.alloc(valueBytes);
    for (let offsetDelta = 0; offsetDelta < count; offsetDelta++) {
      // attributes, timestamp delta, offset delta, no key, the value, no headers
      const head = Buffer.concat([Buffer.from([0]), varint(0), varint(offsetDelta), varint(-1), varint(valueBytes)]);
      const body = Buffer.concat([head, zeros, varint(0)]);
      if (!gzip.write(Buffer.concat([varint(body.length), body]))) await new Promise((resolve) => gzip.once('drain', resolve));
    }
    gzip.end();
    await ended;
    return Buffer.concat(parts);
  }

  it('when a gzip batch holds 4,096 records of 128 MiB in all, they become stand-ins in the DLQ and the valid event after it is applied', async () => {
    const topic = await testTopic();
    const count = 4_096;
    const bomb = await gzippedRecordsOfZeros(count, 32 * 1024);
    expect(bomb.length).toBeLessThan(1024 * 1024);

    // kafkajs compresses through a process-wide codec table: for this one send, its gzip "compresses"
    // the batch's records into the bomb. The consumer's codec is registered again right after.
    const { CompressionCodecs, CompressionTypes } = kafkajs;
    const producer = kafka.producer();
    clients.push(() => producer.disconnect());
    await producer.connect();
    const gzipCodec = CompressionCodecs[CompressionTypes.GZIP]!;
    CompressionCodecs[CompressionTypes.GZIP] = () => ({ ...gzipCodec(), compress: async () => bomb });
    try {
      await producer.send({
        topic: topic.topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: Array.from({ length: count }, () => ({ key: 'bomber', value: 'x' })),
      });
    } finally {
      registerCompressionCodecs();
    }
    const valid = buildClickEvent({ userId: 'bomber' });
    await producer.send({ topic: topic.topic, acks: -1, messages: [{ key: valid.userId, value: JSON.stringify(valid) }] });

    const applied = new Set<string>();
    const { groupId, fatal } = await startConsumer(topic.topic, async ({ events }) => {
      for (const { event } of events) applied.add(event.eventId);
    });
    const reading = readDlq(topic.dlq, count);
    await waitUnlessFatal(fatal, () => applied.has(valid.eventId), 'the valid event after the bomb');

    const deadLetters = await reading;
    expect(deadLetters.size).toBe(count);
    for (const letter of [deadLetters.get('0')!, deadLetters.get(String(count - 1))!]) {
      expect(letter.value).toBeNull();
      expect(letter.headers![DLQ_HEADERS.reason]!.toString()).toMatch(
        /^a gzip batch could not be decompressed: it decompresses to more than 64 MiB/,
      );
    }
    await waitUnlessFatal(fatal, async () => (await lagOf(topic.topic, groupId)) === 0, 'lag 0');
  });
});
