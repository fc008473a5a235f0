import { randomUUID } from 'node:crypto';
import { createTestTopic, testLogger, uniqueName, waitFor, type TestTopic } from '@lambdarec/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startService } from './harness.js';

// Ingest answers 202 only after Kafka acknowledged: a SIGTERM while requests are in flight must
// leave each of them either acknowledged (and on the topic) or failed at the client. Never 202 and lost.
const log = testLogger('ingest-sigterm-e2e');
let topic: TestTopic;

beforeAll(async () => {
  topic = await createTestTopic(inject('infra').kafkaBrokers, { partitions: 3 });
});

afterAll(async () => {
  await topic?.remove();
});

describe('SIGTERM during in-flight POST /events', () => {
  it('every event answered 202 is on the topic; every other request failed at the client', async () => {
    const { kafkaBrokers, redisUrl, databaseUrl } = inject('infra');
    const ingest = await startService('ingest', {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `${uniqueName('sigterm')}:`,
      DATABASE_URL: databaseUrl,
      EVENTS_TOPIC: topic.topic,
      CATALOG_API_KEY: 'sigterm-catalog-key',
      RATE_LIMIT_PER_MINUTE: '10000000',
    });
    const acknowledged: string[] = [];
    let failures = 0;
    let stopping = false;
    const client = async (n: number) => {
      for (let round = 0; round < 500; round++) {
        const events = Array.from({ length: 20 }, (_, i) => ({
          eventId: randomUUID(),
          userId: `sig-${n}-${i % 4}`,
          type: 'view',
          productId: `p-${i}`,
        }));
        try {
          const res = await fetch(`${ingest.url}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(events),
          });
          if (res.status === 202) acknowledged.push(...((await res.json()) as { eventIds: string[] }).eventIds);
          else {
            failures++;
            // A shutting-down ingest answers 503 (Retry-After): a real client waits before it retries.
            if (stopping) return;
          }
        } catch {
          failures++;
          if (stopping) return;
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, n) => client(n));
    await waitFor(async () => (acknowledged.length >= 400 ? true : undefined), {
      what: 'some acknowledged events before the SIGTERM',
      timeoutMs: 20_000,
    });
    stopping = true;
    const exitCode = ingest.stop();
    await Promise.all(clients);
    const code = await exitCode;
    expect(code, ingest.output().slice(-3000)).toBe(0);
    expect(failures).toBeGreaterThan(0);

    const onTopic = new Set<string>();
    const consumer = new Kafka({ brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueName('sigterm-reader') });
    await consumer.connect();
    await consumer.subscribe({ topic: topic.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void onTopic.add((JSON.parse(message.value!.toString()) as { eventId: string }).eventId),
    });
    try {
      await waitFor(async () => (acknowledged.every((id) => onTopic.has(id)) ? true : undefined), {
        what: `all ${acknowledged.length} acknowledged events on the topic`,
        timeoutMs: 30_000,
      });
    } finally {
      await consumer.disconnect();
    }
    log.info({ acknowledged: acknowledged.length, failures, onTopic: onTopic.size }, 'sigterm under load');
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
  }, 120_000);
});
