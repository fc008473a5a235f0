import { randomUUID } from 'node:crypto';
import { createPgPool, type PgPool } from '@lambdarec/clients';
import { runMigrations } from '@lambdarec/stores';
import {
  createPrivateKafka,
  createTestDatabase,
  createTestTopic,
  kafkaLibsDir,
  restartablePort,
  testLogger,
  uniqueName,
  waitFor,
  type PrivateKafka,
  type TestDatabase,
} from '@lambdarec/testing';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isolatedServicesEnv, startService } from './harness.js';

// Kafka deletes a segment once its newest record time is older than the retention (7 days). A
// history import dated 2011 must not be deleted before the archiver has read it, however far the
// archiver lags: records carry their arrival time, and the event time stays in the JSON.
const log = testLogger('retention-backdated-e2e');
const available = kafkaLibsDir() !== undefined;
const CATALOG_API_KEY = 'retention-backdated-catalog-key';
let kafka: PrivateKafka;
let admin: Admin;
let db: TestDatabase;
let pool: PgPool;
let topic: string;

beforeAll(async () => {
  if (!available) return;
  const base = restartablePort();
  // Retention as in production (7 days), checked every second instead of every 5 minutes.
  kafka = createPrivateKafka(base, base + 1, {
    brokerConfig: { 'log.retention.check.interval.ms': '1000', 'log.initial.task.delay.ms': '0' },
  });
  await kafka.start();
  topic = (await createTestTopic(kafka.brokers, { partitions: 3 })).topic;
  admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  db = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'retention-backdated-e2e' });
}, 120_000);

afterAll(async () => {
  await admin?.disconnect();
  await pool?.end();
  await db?.drop();
  await kafka?.remove();
});

/**
 * Returns once the broker has run two retention checks from now on: a canary topic that keeps
 * records for 1 ms loses its record at each check. Two, because a check already running when the
 * first canary was written may have looked at the other topics before their records were written.
 */
async function twoRetentionChecks(): Promise<void> {
  const canary = uniqueName('t.retention-canary');
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: canary, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '1' }] }],
  });
  const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    for (let check = 1; check <= 2; check++) {
      await producer.send({ topic: canary, acks: -1, messages: [{ value: 'canary' }] });
      await waitFor(
        async () => {
          const [partition] = await admin.fetchTopicOffsets(canary);
          return partition!.low === partition!.high ? true : undefined;
        },
        { what: `retention check ${check}`, timeoutMs: 30_000, intervalMs: 200 },
      );
    }
  } finally {
    await producer.disconnect();
  }
}

describe.runIf(available)('a history import dated 2011, while the archiver is stopped', () => {
  it('survives a retention check, and the archiver archives every event once it starts', async () => {
    const env = isolatedServicesEnv(
      'retention',
      { databaseUrl: db.url, redisUrl: inject('infra').redisUrl, kafkaBrokers: kafka.brokers, topic },
      { dashboard: { user: 'admin', password: 'retention-password' }, catalogApiKey: CATALOG_API_KEY },
      { RATE_LIMIT_PER_MINUTE: '100000000' },
    );
    const ingest = await startService('ingest', env);
    const eventIds: string[] = [];
    try {
      // The operator's key makes it a history import: events may be dated years back.
      const events = Array.from({ length: 60 }, (_, i) => ({
        eventId: randomUUID(),
        userId: `uci-${i % 12}`,
        type: 'purchase',
        productId: `p-${i % 7}`,
        timestamp: new Date(Date.UTC(2011, 0, 1 + (i % 28), 10)).toISOString(),
      }));
      const res = await fetch(`${ingest.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${CATALOG_API_KEY}` },
        body: JSON.stringify(events),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      eventIds.push(...((await res.json()) as { eventIds: string[] }).eventIds);
    } finally {
      expect(await ingest.stop()).toBe(0);
    }

    await twoRetentionChecks();
    // Nothing was deleted: every partition still starts at offset 0 and holds the events.
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.map(({ low }) => low)).toEqual(['0', '0', '0']);
    expect(offsets.reduce((sum, { high }) => sum + Number(high), 0)).toBe(eventIds.length);

    const batch = await startService('batch', env);
    try {
      const archived = await waitFor(
        async () => {
          const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE event_id = ANY($1::uuid[])', [
            eventIds,
          ]);
          return rows[0]!.n === eventIds.length ? rows[0]!.n : undefined;
        },
        { what: `all ${eventIds.length} events archived`, timeoutMs: 60_000 },
      );
      expect(archived).toBe(60);
      // The event time came from the JSON, not from the record (its arrival).
      const { rows } = await pool.query<{ years: number[] }>(
        'SELECT array_agg(DISTINCT extract(year FROM event_time)::int) AS years FROM events WHERE event_id = ANY($1::uuid[])',
        [eventIds],
      );
      expect(rows[0]!.years).toEqual([2011]);
    } finally {
      expect(await batch.stop()).toBe(0);
    }
  }, 180_000);
});
