import { closeRedis, createKafka, createRedis, runService } from '@lambdarec/clients';
import { sessionPolicyFrom, speedConfigSchema } from '@lambdarec/config';
import { createMetricsRegistry } from '@lambdarec/http';
import { createSessionStore } from '@lambdarec/stores';
import { buildSpeedApp } from './app.js';
import { createSpeedConsumer } from './consumer.js';
import { replaySessions, replayStartTime, sessionsAreEmpty } from './replay.js';
import { createSessionApplier } from './session-applier.js';

await runService({
  name: 'speed',
  schema: speedConfigSchema,
  env: process.env,
  async start(config, log, defer) {
    const registry = createMetricsRegistry('speed');
    const redis = createRedis({ url: config.REDIS_URL, log, purpose: 'requests' });
    defer('redis', () => closeRedis(redis));
    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'lambdarec-speed', log });
    const policy = sessionPolicyFrom(config);
    const sessions = createSessionStore({ redis, keyPrefix: config.REDIS_KEY_PREFIX, policy });
    const consumer = createSpeedConsumer({ kafka, topic: config.EVENTS_TOPIC, groupId: config.SPEED_GROUP_ID, sessions, policy, log, registry });
    const app = await buildSpeedApp({
      log,
      registry,
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
    if (lostSessions) {
      // In the background, beside the live consumer (applying is idempotent): the service is up meanwhile.
      void replaySessions({
        kafka,
        topic: config.EVENTS_TOPIC,
        applier: createSessionApplier({ sessions, policy }),
        log,
        fromTime: replayStartTime(Date.now(), policy),
      }).catch((err: unknown) => log.error({ err }, 'session replay failed; run npm run replay-sessions'));
    }
  },
});
