import { closeRedis, createPgPool, createRedis } from '@lambdarec/clients';
import { redisConnectionFrom, servingConfigSchema } from '@lambdarec/config';
import { runService } from '@lambdarec/lifecycle';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createServing } from './app.js';

await runService({
  name: 'serving',
  schema: servingConfigSchema,
  env: process.env,
  async start(config, log, defer) {
    // Serving only reads, and must start (and answer, degraded) even while Postgres is down:
    // the writers, ingest and batch, apply migrations.
    // A stalled Postgres must degrade answers, not hold them: queries give up after 2 s.
    const pool = createPgPool({ url: config.DATABASE_URL, log, applicationName: 'lambdarec-serving', max: 20, queryTimeoutMs: 2_000 });
    defer('postgres', () => pool.end());
    // The hot standby, when there is one: the same limits, so a stalled standby costs a read no more than the primary would.
    const readUrl = config.DATABASE_READ_URL;
    const readPool =
      readUrl === undefined
        ? undefined
        : createPgPool({ url: readUrl, log, applicationName: 'lambdarec-serving-reads', max: 20, queryTimeoutMs: 2_000 });
    if (readPool !== undefined) defer('postgres standby', () => readPool.end());
    const redis = createRedis({ ...redisConnectionFrom(config), log, purpose: 'requests' });
    defer('redis', () => closeRedis(redis));
    const serving = await createServing({ pool, readPool, redis, config, log, registry: createMetricsRegistry('serving') });
    defer('serving', () => serving.close());
    await serving.app.listen({ port: config.PORT, host: config.HOST });
  },
});
