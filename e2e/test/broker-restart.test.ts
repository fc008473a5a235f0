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
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startService, type RunningService } from './harness.js';

// Fault injection: a broker of this test's own is killed (SIGKILL) in the middle of an ingest load
// and started again. Every event ingest answered 202 for must end up in the archive exactly once.
// Then the broker stalls (SIGSTOP): ingest must still answer within its send timeout, and stop.
const log = testLogger('broker-restart-e2e');
const available = kafkaLibsDir() !== undefined;
let kafka: PrivateKafka;
let db: TestDatabase;
let pool: PgPool;
let topic: string;

beforeAll(async () => {
  if (!available) return;
  const base = restartablePort();
  kafka = createPrivateKafka(base, base + 1);
  await kafka.start();
  topic = (await createTestTopic(kafka.brokers, { partitions: 3 })).topic;
  db = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'broker-restart-e2e' });
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await db?.drop();
  await kafka?.remove();
});

/** The services' environment against this test's broker, with names (queue, group, keys) of their own. */
const servicesEnv = (name: string) => ({
  KAFKA_BROKERS: kafka.brokers.join(','),
  REDIS_URL: inject('infra').redisUrl,
  REDIS_KEY_PREFIX: `${uniqueName(name)}:`,
  DATABASE_URL: db.url,
  EVENTS_TOPIC: topic,
  CATALOG_API_KEY: `${name}-catalog-key`,
  RATE_LIMIT_PER_MINUTE: '100000000',
  BATCH_QUEUE: uniqueName(`${name}-batch`),
  ARCHIVE_GROUP_ID: uniqueName(`${name}-archive`),
  DASHBOARD_PASSWORD: `${name}-password`,
});

describe.runIf(available)('the broker killed and restarted under ingest load', () => {
  it('archives every event answered 202 exactly once', async () => {
    const env = servicesEnv('broker-restart');
    const ingest: RunningService = await startService('ingest', env);
    const batch: RunningService = await startService('batch', env);
    const acknowledged: string[] = [];
    let refused = 0;
    let loading = true;
    const client = async (n: number) => {
      while (loading) {
        const events = Array.from({ length: 10 }, (_, i) => ({
          eventId: randomUUID(),
          userId: `br-${n}-${i % 3}`,
          type: 'view',
          productId: `p-${i}`,
        }));
        try {
          const res = await fetch(`${ingest.url}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(events),
            signal: AbortSignal.timeout(15_000),
          });
          if (res.status === 202) acknowledged.push(...((await res.json()) as { eventIds: string[] }).eventIds);
          else {
            refused++;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        } catch {
          refused++;
        }
      }
    };
    const clients = Array.from({ length: 4 }, (_, n) => client(n));
    try {
      await waitFor(async () => (acknowledged.length >= 300 ? true : undefined), {
        what: 'events acknowledged before the kill',
        timeoutMs: 30_000,
      });
      await kafka.kill();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await kafka.start();
      const afterRestart = acknowledged.length;
      await waitFor(async () => (acknowledged.length >= afterRestart + 300 ? true : undefined), {
        what: 'events acknowledged after the restart',
        timeoutMs: 60_000,
      });
    } finally {
      loading = false;
      await Promise.all(clients);
    }
    expect(refused).toBeGreaterThan(0);
    const archived = await waitFor(
      async () => {
        const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE event_id = ANY($1::uuid[])', [
          acknowledged,
        ]);
        return rows[0]!.n === acknowledged.length ? rows[0]!.n : undefined;
      },
      { what: `all ${acknowledged.length} acknowledged events archived`, timeoutMs: 90_000 },
    );
    expect(archived).toBe(new Set(acknowledged).size);
    expect(await Promise.all([ingest.stop(), batch.stop()])).toEqual([0, 0]);
  }, 300_000);

  it('a stalled broker: ingest answers 503 within its send timeout (10 s), not kafkajs request timeout (30 s) and retries, and SIGTERM still ends it cleanly', async () => {
    const ingest: RunningService = await startService('ingest', servicesEnv('broker-stall'));
    const post = async () => {
      const began = Date.now();
      const res = await fetch(`${ingest.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ eventId: randomUUID(), userId: 'stall', type: 'view', productId: 'p-1' }),
        signal: AbortSignal.timeout(60_000),
      });
      return { status: res.status, body: (await res.json()) as { code?: string; message?: string }, seconds: (Date.now() - began) / 1000 };
    };
    try {
      expect((await post()).status).toBe(202);
      kafka.pause();
      // Two at once: one carried by the stuck send, one queued behind it; both are answered.
      const answers = await Promise.all([post(), post()]);
      for (const answer of answers) {
        expect(answer.status, JSON.stringify(answer.body)).toBe(503);
        expect(answer.body.code).toBe('LREC_BROKER_UNAVAILABLE');
        // A bound on the failure path, far from both 10 s and kafkajs' 30 s: not a speed figure.
        expect(answer.seconds).toBeLessThan(25);
      }
      expect(answers.some((answer) => answer.body.message?.includes('retry with the same eventIds'))).toBe(true);
      // Shutdown within its grace (15 s), while the broker is still stalled.
      const code = await ingest.stop();
      expect(code, `ingest exited ${code}:\n${ingest.output().slice(-4000)}`).toBe(0);
    } finally {
      kafka.resume();
      await ingest.stop();
    }
  }, 120_000);
});
