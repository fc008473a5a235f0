/**
 * `npm run replay-sessions`: rebuilds the speed layer's session state in Redis from the topic,
 * for example after Redis lost its data. An entry point beside main.ts: it reads the environment,
 * replays once and exits (0 when the replay reached the end of every partition).
 */
import { closeRedis, createKafka, createLogger, createPgPool, createRedis } from '@lambdarec/clients';
import { ConfigError, loadConfig, redisConnectionFrom, replaySessionsConfigSchema, sessionPolicyFrom } from '@lambdarec/config';
import { createBatchRunsRepository, createBatchViewReader, createSessionStore } from '@lambdarec/stores';
import { replaySessions, replayStartTime } from './replay.js';
import { createSessionApplier } from './session-applier.js';

let config;
try {
  config = loadConfig(replaySessionsConfigSchema, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`replay-sessions: ${err.message}\n`);
  process.exit(1);
}
const log = createLogger({ name: 'replay-sessions', level: config.LOG_LEVEL });
const policy = sessionPolicyFrom(config);

/** The published run's watermark (its newest event time), when Postgres is configured and has one. */
async function watermarkTime(url: string | undefined): Promise<number | undefined> {
  if (url === undefined) return undefined;
  const pool = createPgPool({ url, log, applicationName: 'lambdarec-replay-sessions', max: 1 });
  try {
    const published = await createBatchViewReader({ pool }).publishedRun();
    const run = published === undefined ? undefined : await createBatchRunsRepository({ pool }).get(published.runId);
    const time = run?.watermark?.maxEventTime;
    return time === null || time === undefined ? undefined : Date.parse(time);
  } catch (err) {
    // Without the watermark the replay still covers every session and suppression window.
    log.warn({ err }, 'could not read the published run; replaying the recent windows only');
    return undefined;
  } finally {
    await pool.end();
  }
}

const redis = createRedis({ ...redisConnectionFrom(config), log, purpose: 'requests' });
try {
  const fromTime = replayStartTime(Date.now(), policy, await watermarkTime(config.DATABASE_URL));
  const result = await replaySessions({
    kafka: createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'lambdarec-replay-sessions', log }),
    topic: config.EVENTS_TOPIC,
    applier: createSessionApplier({ sessions: createSessionStore({ redis, keyPrefix: config.REDIS_KEY_PREFIX, policy }), policy }),
    log,
    fromTime,
  });
  process.stdout.write(
    `replayed ${result.records} records from ${new Date(result.fromTime).toISOString()} on ${result.partitions} partitions; ${result.applied} events applied to sessions\n`,
  );
} catch (err) {
  log.error({ err }, 'session replay failed');
  process.exitCode = 1;
} finally {
  await closeRedis(redis);
}
