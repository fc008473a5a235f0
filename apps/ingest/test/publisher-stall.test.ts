import { randomUUID } from 'node:crypto';
import { createKafka, createPgPool, type PgPool } from '@lambdarec/clients';
import { type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository } from '@lambdarec/stores';
import {
  createPrivateKafka,
  createTestTopic,
  kafkaLibsDir,
  restartablePort,
  testLogger,
  uniqueName,
  waitFor,
  type PrivateKafka,
} from '@lambdarec/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildIngestApp } from '../src/app.js';
import { createEventPublisher, type EventPublisher } from '../src/event-publisher.js';

// kafkajs rolls a partition's sequence number back when a produce attempt fails, even when the
// broker appended the batch. A broker that stalls (SIGSTOP) for longer than a send's retry budget,
// then resumes, has appended that send: the producer's next send on the partition must not reuse
// its sequence number, or the broker takes it as a duplicate (acknowledged, never written) or
// refuses every later send with OUT_OF_ORDER_SEQUENCE_NUMBER.
const log = testLogger('publisher-stall-test');
const available = kafkaLibsDir() !== undefined;
/** What the publisher logged, to see when a send has failed for good. */
const published: Array<{ msg: string }> = [];
let broker: PrivateKafka;
let topic: string;
let pool: PgPool;
let publisher: EventPublisher;
let app: HttpServer;

beforeAll(async () => {
  if (!available) return;
  const base = restartablePort();
  broker = createPrivateKafka(base, base + 1);
  await broker.start();
  // One partition: every send after the stall lands where the stalled one did.
  topic = (await createTestTopic(broker.brokers, { partitions: 1 })).topic;
  // A produce attempt waits 1 s instead of 30 s, so a send's retry budget (6 attempts) is seconds.
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'publisher-stall-test', log, config: { requestTimeout: 1_000 } });
  const publisherLog = pino({ level: 'info' }, { write: (line: string) => void published.push(JSON.parse(line) as { msg: string }) });
  publisher = createEventPublisher({ kafka, topic, log: publisherLog, sendTimeoutMs: 3_000 });
  await publisher.start();
  pool = createPgPool({ url: inject('infra').databaseUrl, log, applicationName: 'publisher-stall-test' });
  app = await buildIngestApp({
    log,
    publisher,
    catalog: createCatalogRepository({ pool }),
    catalogApiKey: 'publisher-stall-catalog-key',
    registry: createMetricsRegistry('publisher-stall-test'),
    checks: { kafka: () => publisher.ready() },
  });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await publisher?.close();
  await pool?.end();
  await broker?.remove();
});

/** POSTs `count` events in one request; answers its status and eventIds. */
async function post(userId: string, count = 1): Promise<{ status: number; eventIds: string[] }> {
  const eventIds = Array.from({ length: count }, () => randomUUID());
  const res = await app.inject({
    method: 'POST',
    url: '/events',
    payload: eventIds.map((eventId) => ({ eventId, userId, type: 'view', productId: 'p-1' })),
  });
  return { status: res.statusCode, eventIds };
}

const failedSends = () => published.filter((line) => line.msg === 'kafka did not acknowledge events').length;
const replacements = () => published.filter((line) => line.msg.startsWith('kafka producer replaced')).length;

/**
 * Stalls the broker while one send of one event is in flight, until that send has failed for
 * good (its retry budget spent), then resumes the broker, which then appends the stalled batch.
 */
async function stallPastTheRetryBudget(): Promise<void> {
  const failedBefore = failedSends();
  broker.pause();
  try {
    const during = await post('stall-user');
    expect(during.status).toBe(503);
    await waitFor(async () => (failedSends() > failedBefore ? true : undefined), {
      what: 'the stalled send to fail for good',
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  } finally {
    broker.resume();
  }
}

/** Statuses of requests after the stall: 202 or 503 only, and once one is accepted, all later ones are. */
function expectBackAfterTheStall(statuses: readonly number[]): void {
  const firstAccepted = statuses.indexOf(202);
  expect(firstAccepted, statuses.join(' ')).toBeGreaterThanOrEqual(0);
  expect(
    statuses.every((status) => status === 202 || status === 503),
    statuses.join(' '),
  ).toBe(true);
  expect(
    statuses.slice(firstAccepted).every((status) => status === 202),
    statuses.join(' '),
  ).toBe(true);
}

/** The eventIds on the topic, read from the beginning by a consumer of its own. */
async function eventIdsOnTopic(expected: readonly string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const consumer = createKafka({ brokers: broker.brokers, clientId: 'publisher-stall-reader', log }).consumer({
    groupId: uniqueName('stall-reader'),
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => void seen.add((JSON.parse(message.value!.toString()) as { eventId: string }).eventId),
  });
  try {
    await waitFor(async () => (expected.every((id) => seen.has(id)) ? true : undefined), {
      what: `all ${expected.length} acknowledged events on the topic`,
      timeoutMs: 20_000,
    }).catch(() => undefined);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe.runIf(available)('a broker stalled for longer than a send may retry, then back', () => {
  it('the next send has as many records as the stalled one: every event answered 202 is on the topic (none taken as a duplicate)', async () => {
    const acknowledged: string[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await post('stall-user');
      expect(answer.status).toBe(202);
      acknowledged.push(...answer.eventIds);
    }
    await stallPastTheRetryBudget();

    const after: Array<{ status: number; eventIds: string[] }> = [];
    for (let i = 0; i < 50; i++) after.push(await post('stall-user'));
    acknowledged.push(...after.filter(({ status }) => status === 202).flatMap(({ eventIds }) => eventIds));
    const onTopic = await eventIdsOnTopic(acknowledged);
    expect(
      acknowledged.filter((id) => !onTopic.has(id)),
      'events answered 202 that are not on the topic',
    ).toEqual([]);
    expectBackAfterTheStall(after.map(({ status }) => status));
  }, 120_000);

  it('the next sends have another record count: they are accepted again, not refused as out of order for ever', async () => {
    await stallPastTheRetryBudget();
    // Readiness probes alone bring an idle instance back, on a new producer.
    const replacedBefore = replacements();
    await waitFor(async () => ((await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200 ? true : undefined), {
      what: 'ready again',
      timeoutMs: 30_000,
      intervalMs: 200,
    });

    const after: Array<{ status: number; eventIds: string[] }> = [];
    for (let i = 0; i < 10; i++) after.push(await post('stall-user', 2));
    const acknowledged = after.filter(({ status }) => status === 202).flatMap(({ eventIds }) => eventIds);
    expectBackAfterTheStall(after.map(({ status }) => status));
    const onTopic = await eventIdsOnTopic(acknowledged);
    expect(
      acknowledged.filter((id) => !onTopic.has(id)),
      'events answered 202 that are not on the topic',
    ).toEqual([]);
    // The probes replaced the producer before any request came.
    expect(replacements()).toBe(replacedBefore + 1);
  }, 120_000);
});
