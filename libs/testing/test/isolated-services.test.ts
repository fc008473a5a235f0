import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildClickEvent, countKeys, startIsolatedServices, waitFor, type IsolatedServices } from '../src/index.js';

let system: IsolatedServices | undefined;
afterAll(async () => system?.stop());

describe('isolated services', () => {
  it("stop() leaves nothing of the system behind: its database, and its keys and its queue's keys in the shared Redis", async () => {
    const { databaseUrl, redisUrl, kafkaBrokers } = inject('infra');
    system = await startIsolatedServices({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, KAFKA_BROKERS: kafkaBrokers.join(',') });
    const { namespace } = system;
    const redis = new Redis(redisUrl);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      // One shopper's event puts a session in Redis; the batch scheduler has its queue's keys there.
      const event = buildClickEvent({ userId: 'isolated-shopper' });
      const posted = await fetch(`${system.url.ingest}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [event] }),
      });
      expect(posted.status).toBe(202);
      await waitFor(async () => ((await countKeys(redis, `${namespace}:*`)) > 0 ? true : undefined), {
        what: 'the session in Redis',
        timeoutMs: 30_000,
      });
      expect(await countKeys(redis, `bull:${namespace}-batch:*`)).toBeGreaterThan(0);
      expect((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [namespace])).rowCount).toBe(1);

      await system.stop();
      system = undefined;
      expect(await countKeys(redis, `${namespace}:*`)).toBe(0);
      expect(await countKeys(redis, `bull:${namespace}-batch:*`)).toBe(0);
      expect((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [namespace])).rowCount).toBe(0);
    } finally {
      await admin.end();
      redis.disconnect();
    }
  }, 180_000);
});
