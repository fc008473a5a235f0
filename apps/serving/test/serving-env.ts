import { createPgPool, createRedis, type Logger, type PgPool, type Redis } from '@lambdarec/clients';
import { servingConfigSchema, sessionPolicyFrom } from '@lambdarec/config';
import { createSessionStore, runMigrations, type SessionStore } from '@lambdarec/stores';
import { createTestDatabase, uniqueName, type TestDatabase } from '@lambdarec/testing';
import { inject } from 'vitest';
import type { ServingSettings } from '../src/app.js';

/** What a serving test file runs against: a database of its own, Redis, and serving's default settings. */
export interface ServingTestEnv {
  db: TestDatabase;
  pool: PgPool;
  redis: Redis;
  /** Serving's defaults, with a key prefix of the file's own and new runs seen only on refresh(). */
  settings: ServingSettings;
  sessions: SessionStore;
  /** Quits Redis, ends the pool and drops the database. */
  close(): Promise<void>;
}

export async function openServingTestEnv(name: string, log: Logger): Promise<ServingTestEnv> {
  const { databaseUrl, redisUrl } = inject('infra');
  const db = await createTestDatabase(databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  const pool = createPgPool({ url: db.url, log, applicationName: name });
  const redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
  const settings = servingConfigSchema.parse({
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `${uniqueName(name)}:`,
    BATCH_VIEW_REFRESH_MS: '60000',
  });
  const sessions = createSessionStore({ redis, keyPrefix: settings.REDIS_KEY_PREFIX, policy: sessionPolicyFrom(settings) });
  return {
    db,
    pool,
    redis,
    settings,
    sessions,
    async close() {
      await redis.quit();
      await pool.end();
      await db.drop();
    },
  };
}
