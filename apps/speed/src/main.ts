import { closeRedis, createKafka, createRedis, runService } from '@lambdarec/clients';
import { sessionPolicyFrom, speedConfigSchema } from '@lambdarec/config';
import { createMetricsRegistry } from '@lambdarec/http';
import { createSessionStore } from '@lambdarec/stores';
import { buildSpeedApp } from './app.js';
import { createSpeedConsumer } from './consumer.js';

await runService({
  name: 'speed',
  schema: speedConfigSchema,
  env: process.env,
  async start(config, log, defer) {
    const registry = createMetricsRegistry('speed');
    const redis = createRedis({ url: config.REDIS_URL, log, purpose: 'requests' });
    defer('redis', () => closeRedis(redis));
    const consumer = createSpeedConsumer({
      kafka: createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'lambdarec-speed', log }),
      topic: config.EVENTS_TOPIC,
      groupId: config.SPEED_GROUP_ID,
      sessions: createSessionStore({ redis, keyPrefix: config.REDIS_KEY_PREFIX, policy: sessionPolicyFrom(config) }),
      policy: sessionPolicyFrom(config),
      log,
      registry,
    });
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
    await consumer.start();
    defer('kafka consumer', () => consumer.close());
  },
});
