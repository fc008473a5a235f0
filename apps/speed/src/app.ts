import { createKafka, createRedis, type EventConsumer, type Logger, type Redis } from '@lambdarec/clients';
import { sessionPolicyFrom, type SpeedConfig } from '@lambdarec/config';
import type { SessionPolicy } from '@lambdarec/domain';
import { createMetricsRegistry, createServiceApp, type HttpServer, type ReadinessCheck, type Registry } from '@lambdarec/http';
import { createSessionStore, type SessionStore } from '@lambdarec/stores';
import type { Kafka } from 'kafkajs';
import { createSpeedConsumer } from './consumer.js';

/** The speed layer's HTTP surface: health, readiness and metrics only. */
export async function buildSpeedApp({ log, registry, checks }: { log: Logger; registry: Registry; checks: Record<string, ReadinessCheck> }): Promise<HttpServer> {
  return createServiceApp({ log, registry, checks });
}

export interface SpeedDependencies {
  registry: Registry;
  /** Created here: whoever calls createSpeedDependencies closes it (closeRedis), after the consumer. */
  redis: Redis;
  kafka: Kafka;
  policy: SessionPolicy;
  sessions: SessionStore;
  /** Not started: the caller starts it, and closes it before Redis. */
  consumer: EventConsumer;
}

/**
 * The speed layer's collaborators, assembled in one place for main.ts and the benchmarks, so a
 * benchmark measures the graph that runs in production. Nothing connects to Kafka until
 * `consumer.start()`.
 */
export function createSpeedDependencies(config: SpeedConfig, log: Logger): SpeedDependencies {
  const registry = createMetricsRegistry('speed');
  const redis = createRedis({ url: config.REDIS_URL, log, purpose: 'requests' });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'lambdarec-speed', log });
  const policy = sessionPolicyFrom(config);
  const sessions = createSessionStore({ redis, keyPrefix: config.REDIS_KEY_PREFIX, policy });
  const consumer = createSpeedConsumer({ kafka, topic: config.EVENTS_TOPIC, groupId: config.SPEED_GROUP_ID, sessions, policy, log, registry });
  return { registry, redis, kafka, policy, sessions, consumer };
}
