import { DLQ_HEADERS, productEventsOf } from '@lambdarec/contracts';
import {
  buildClickEvent,
  createTestDatabase,
  createTestTopic,
  testLogger,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@lambdarec/testing';
import { Partitioners, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordingMetrics } from './recording-metrics.js';
import {
  createEventConsumer,
  createKafka,
  createPgPool,
  isRecordRejection,
  RecordRejectedError,
  type EventConsumer,
  type PgPool,
} from '@lambdarec/clients';

const log = testLogger('event-consumer-test');
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
let consumer: EventConsumer;
let producer: Producer;
let dlqReader: Consumer;
const deadLetters: KafkaMessage[] = [];
const { metrics, deadLettered } = recordingMetrics();

// A store with a rule the event schema does not know: Postgres itself refuses the product 'refused'.
const createAppliedTable = async (url: string) => {
  const setup = createPgPool({ url, log, applicationName: 'refusals-setup' });
  try {
    await setup.query(`CREATE TABLE applied (event_id uuid PRIMARY KEY, product_id text NOT NULL CHECK (product_id <> 'refused'))`);
  } finally {
    await setup.end();
  }
};

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 1 });
  db = await createTestDatabase(databaseUrl, createAppliedTable);
  pool = createPgPool({ url: db.url, log, applicationName: 'refusals-test' });
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'event-consumer-test', log });
  consumer = createEventConsumer({
    kafka,
    topic: topic.topic,
    groupId: uniqueName('refusals'),
    log,
    metrics,
    // One INSERT per batch, as the archiver does: one refused row fails the whole statement.
    handle: async ({ events }) => {
      if (events.length === 0) return;
      await pool.query('INSERT INTO applied (event_id, product_id) SELECT * FROM unnest($1::uuid[], $2::text[]) ON CONFLICT DO NOTHING', [
        productEventsOf(events).map((e) => e.event.eventId),
        productEventsOf(events).map((e) => e.event.productId),
      ]);
    },
  });
  await consumer.start();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  dlqReader = kafka.consumer({ groupId: uniqueName('dlq-reader') });
  await dlqReader.connect();
  await dlqReader.subscribe({ topic: topic.dlq, fromBeginning: true });
  await dlqReader.run({ eachMessage: async ({ message }) => void deadLetters.push(message) });
});

afterAll(async () => {
  await consumer?.close();
  await dlqReader?.disconnect();
  await producer?.disconnect();
  await pool?.end();
  await db?.drop();
  await topic?.remove();
});

const appliedProducts = async () =>
  (await pool.query<{ product_id: string }>('SELECT product_id FROM applied ORDER BY product_id')).rows.map((r) => r.product_id);

// The shared consumer of the archiver and the speed layer, against a store that refuses a record.
describe('a record the store refuses', () => {
  it('goes to the DLQ with the reason, and the rest of its batch and later records are applied', async () => {
    const events = ['before', 'refused', 'after'].map((productId) => buildClickEvent({ userId: 'one-user', productId }));
    await producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    await waitFor(async () => ((await appliedProducts()).includes('after') ? true : undefined), {
      what: 'the records around the refused one',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (deadLetters.length > 0 ? true : undefined), { what: 'the refused record in the DLQ', timeoutMs: 30_000 });

    expect(await appliedProducts()).toEqual(['after', 'before']);
    expect(deadLetters).toHaveLength(1);
    expect(JSON.parse(deadLetters[0]!.value!.toString()).productId).toBe('refused');
    const reason = deadLetters[0]!.headers![DLQ_HEADERS.reason]!.toString();
    expect(reason).toMatch(/^refused by the store after 3 attempts: 23514 /);
    expect(deadLettered).toEqual([reason]);

    const later = buildClickEvent({ userId: 'one-user', productId: 'later' });
    await producer.send({ topic: topic.topic, acks: -1, messages: [{ key: later.userId, value: JSON.stringify(later) }] });
    await waitFor(async () => ((await appliedProducts()).includes('later') ? true : undefined), {
      what: 'a record after the refusal',
      timeoutMs: 30_000,
    });
    expect(consumer.isRunning()).toBe(true);
  });
});

describe('isRecordRejection', () => {
  it('is true for data and constraint errors and for RecordRejectedError, also as a cause', () => {
    expect(isRecordRejection({ code: '22021' })).toBe(true);
    expect(isRecordRejection({ code: '23514' })).toBe(true);
    expect(isRecordRejection(new Error('wrapped', { cause: { code: '22P05' } }))).toBe(true);
    expect(isRecordRejection(new RecordRejectedError('no'))).toBe(true);
  });

  it('is false for an unreachable or restarting store and for unknown errors, so those are retried', () => {
    for (const err of [
      { code: 'ECONNREFUSED' },
      { code: '57P01' },
      { code: '53300' },
      new Error('timeout exceeded when trying to connect'),
      new TypeError('x'),
    ]) {
      expect(isRecordRejection(err), JSON.stringify(err)).toBe(false);
    }
  });
});
