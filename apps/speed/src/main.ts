import { closeRedis, redisEpoch } from '@lambdarec/clients';
import { speedConfigSchema } from '@lambdarec/config';
import { createLoginThrottle } from '@lambdarec/http';
import { runService } from '@lambdarec/lifecycle';
import { createRedisLoginAttemptCounts } from '@lambdarec/stores';
import { buildSpeedApp, createSpeedDependencies } from './app.js';
import { createFailoverReplay } from './failover-replay.js';
import { replaySessions, replayStartTime, sessionsAreEmpty } from './replay.js';
import { createSessionApplier } from './session-applier.js';

await runService({
  name: 'speed',
  schema: speedConfigSchema,
  env: process.env,
  async start(config, log, defer) {
    const { registry, redis, kafka, policy, sessions, consumer, appliedOffsets } = createSpeedDependencies(config, log);
    defer('redis', () => closeRedis(redis));
    const app = await buildSpeedApp({
      log,
      registry,
      sessions,
      credentials:
        config.DASHBOARD_PASSWORD === undefined ? undefined : { user: config.DASHBOARD_USER, password: config.DASHBOARD_PASSWORD },
      // Counted in Redis, so that a guesser gets one budget across every speed instance.
      loginThrottle: createLoginThrottle({
        counts: createRedisLoginAttemptCounts({ redis, keyPrefix: config.REDIS_KEY_PREFIX }),
        onUnavailable: (err) =>
          log.warn({ err }, 'Redis did not answer the login throttle; failed logins are counted in this process meanwhile'),
      }),
      trustProxy: config.TRUST_PROXY,
      checks: {
        redis: () => redis.ping(),
        // Two checks, so /readyz says which: the broker is unreachable, or our consumer is not consuming.
        kafka: () => consumer.brokerReachable(),
        consumer: async () => consumer.assertConsuming(),
      },
    });
    await app.listen({ port: config.PORT, host: config.HOST });
    defer('http server', () => app.close());
    // Before the live consumer: an empty Redis is either a fresh install or one that lost its data.
    const lostSessions = await sessionsAreEmpty(redis, config.REDIS_KEY_PREFIX).catch(() => false);
    await consumer.start();
    defer('kafka consumer', () => consumer.close());
    const applier = createSessionApplier({ sessions, policy });
    const failoverReplay = createFailoverReplay({
      epoch: () => redisEpoch(redis),
      appliedOffsets,
      replay: (startOffsets) => replaySessions({ kafka, topic: config.EVENTS_TOPIC, applier, log, fromTime: Date.now(), startOffsets }),
      log,
      registry,
    });
    failoverReplay.start();
    defer('failover replay', () => failoverReplay.close());
    if (lostSessions) {
      // In the background, beside the live consumer (applying is idempotent): the service is up meanwhile.
      void replaySessions({
        kafka,
        topic: config.EVENTS_TOPIC,
        applier,
        log,
        fromTime: replayStartTime(Date.now(), policy),
      }).catch((err: unknown) => log.error({ err }, 'session replay failed; run npm run replay-sessions'));
    }
  },
});
