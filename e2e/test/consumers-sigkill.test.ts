import { createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import { decodeSession, runMigrations } from '@lambdarec/stores';
import {
  buildClickEvent,
  createTestDatabase,
  createTestTopic,
  sessionStateOf,
  testLogger,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@lambdarec/testing';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startService, type RunningService } from './harness.js';

// The speed layer and the archiver are killed with SIGKILL in the middle of a stream of events and
// started again: the session state and the archive must end up exactly as an uninterrupted run
// would leave them (the reference speed layer runs without interruption on its own key prefix).
const log = testLogger('consumers-sigkill-e2e');
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
let redis: Redis;
let producer: Producer;
const prefixes = { killed: `${uniqueName('killed')}:`, reference: `${uniqueName('reference')}:` };

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
  db = await createTestDatabase(databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'sigkill-e2e' });
  redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
  producer = new Kafka({ brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
}, 60_000);

afterAll(async () => {
  await producer?.disconnect();
  for (const prefix of Object.values(prefixes)) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis?.quit();
  await pool?.end();
  await db?.drop();
  await topic?.remove();
});

const sessionState = (prefix: string) => sessionStateOf(redis, prefix);

describe('SIGKILL of the speed layer and the archiver mid-stream', () => {
  it('leaves the archive with every event exactly once and the session state equal to an uninterrupted run', async () => {
    const { kafkaBrokers, redisUrl } = inject('infra');
    const common = { KAFKA_BROKERS: kafkaBrokers.join(','), REDIS_URL: redisUrl, EVENTS_TOPIC: topic.topic };
    const speedEnv = (prefix: string, group: string) => ({ ...common, REDIS_KEY_PREFIX: prefix, SPEED_GROUP_ID: group });
    const batchEnv = {
      ...common,
      DATABASE_URL: db.url,
      REDIS_KEY_PREFIX: prefixes.killed,
      BATCH_QUEUE: uniqueName('sigkill-batch'),
      ARCHIVE_GROUP_ID: uniqueName('sigkill-archive'),
      DASHBOARD_PASSWORD: 'sigkill-password',
    };
    const killedGroup = uniqueName('sigkill-speed');
    const reference = await startService('speed', speedEnv(prefixes.reference, uniqueName('reference-speed')));
    let speed: RunningService = await startService('speed', speedEnv(prefixes.killed, killedGroup));
    let batch: RunningService = await startService('batch', batchEnv);

    const sent: string[] = [];
    const buyers = new Set<string>();
    const publishChunk = async (chunk: number) => {
      const events = Array.from({ length: 50 }, (_, i) =>
        buildClickEvent({
          userId: `kill-user-${(chunk * 50 + i) % 40}`,
          productId: `p-${chunk}-${i}`,
          type: i % 5 === 0 ? 'purchase' : i % 5 === 1 ? 'add_to_cart' : 'view',
        }),
      );
      await producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
      sent.push(...events.map((e) => e.eventId));
      for (const e of events) if (e.type === 'purchase') buyers.add(e.userId);
    };
    try {
      for (let chunk = 0; chunk < 10; chunk++) {
        await publishChunk(chunk);
        if (chunk === 4) {
          // Mid-stream, while both are consuming: no close, no commit, no goodbye.
          speed.process.kill('SIGKILL');
          batch.process.kill('SIGKILL');
          await Promise.all([speed.stop(), batch.stop()]);
        }
        if (chunk === 6) {
          [speed, batch] = await Promise.all([
            startService('speed', speedEnv(prefixes.killed, killedGroup)),
            startService('batch', batchEnv),
          ]);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const archived = await waitFor(
        async () => {
          const { rows } = await pool.query<{ event_id: string }>('SELECT event_id FROM events');
          return rows.length >= sent.length ? rows.map((r) => r.event_id) : undefined;
        },
        { what: `all ${sent.length} events archived`, timeoutMs: 60_000 },
      );
      expect(archived.sort()).toEqual([...sent].sort());
      // Every event applied by the reference: 40 users' sessions, each with all of their events, and the buyers' purchases.
      const referenceState = await waitFor(
        async () => {
          const state = await sessionState(prefixes.reference);
          const sessions = Object.entries(state).map(([key, value]) =>
            decodeSession(value, key, { sessionWindowMs: Number.POSITIVE_INFINITY, maxPurchases: Number.POSITIVE_INFINITY }),
          );
          const applied = sessions.reduce((n, session) => n + session.signals.length, 0);
          const purchasers = sessions.filter((session) => session.purchases.size > 0).length;
          return sessions.length === 40 && applied === sent.length && purchasers === buyers.size ? state : undefined;
        },
        { what: 'the reference session state', timeoutMs: 30_000 },
      );
      await waitFor(
        async () => (JSON.stringify(await sessionState(prefixes.killed)) === JSON.stringify(referenceState) ? true : undefined),
        {
          what: 'the killed speed layer to catch up to the reference state',
          timeoutMs: 60_000,
        },
      );
    } finally {
      await Promise.all([speed.stop(), batch.stop(), reference.stop()]);
    }
  }, 240_000);
});
