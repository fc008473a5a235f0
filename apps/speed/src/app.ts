import { createKafka, createRedis, type EventConsumer, type Logger, type RedisClient } from '@lambdarec/clients';
import { redisConnectionFrom, sessionPolicyFrom, type SpeedConfig } from '@lambdarec/config';
import { sessionViewSchema, userIdParamsSchema } from '@lambdarec/contracts';
import { isFlagged, type SessionPolicy } from '@lambdarec/domain';
import {
  createLoginThrottle,
  createServiceApp,
  registerBasicAuth,
  type Credentials,
  type HttpServer,
  type LoginThrottle,
  type ReadinessCheck,
} from '@lambdarec/http';
import { createMetricsRegistry, type Registry } from '@lambdarec/metrics';
import type { FastifyInstance } from 'fastify';
import { createSessionStore, type SessionStore } from '@lambdarec/stores';
import type { Kafka } from 'kafkajs';
import { createSpeedBotFlagLedger } from './bot-flag-ledger.js';
import { createAppliedOffsetLog, type AppliedOffsetLog } from './applied-offsets.js';
import { createSpeedConsumer } from './consumer.js';

export interface SpeedAppOptions {
  log: Logger;
  registry: Registry;
  checks: Record<string, ReadinessCheck>;
  /** With both, GET /sessions/:userId shows a stored session to an operator (dashboard credentials). */
  sessions?: Pick<SessionStore, 'inspect'>;
  credentials?: Credentials | undefined;
  /** Failed logins per client address on the operator view. @defaultValue 10 a minute, in this process's memory */
  loginThrottle?: LoginThrottle;
  /** Proxies whose X-Forwarded-For gives the client address (the login throttle counts by it). @defaultValue false */
  trustProxy?: boolean | number | string[];
  /** @defaultValue Date.now */
  now?: () => number;
}

/**
 * The speed layer's HTTP surface: health, readiness, metrics, and the operator's view of a
 * session (what the speed layer holds for a user, and whether the bot guard flagged them).
 */
export async function buildSpeedApp({
  log,
  registry,
  checks,
  sessions,
  credentials,
  loginThrottle = createLoginThrottle(),
  trustProxy = false,
  now = Date.now,
}: SpeedAppOptions): Promise<HttpServer> {
  const operatorView = sessions !== undefined && credentials !== undefined;
  const app = await createServiceApp({
    log,
    registry,
    checks,
    trustProxy,
    ...(operatorView
      ? {
          openApi: {
            title: 'lambdarec speed',
            description: "The speed layer's operator view of a session; it has no other API.",
            basicAuth: true,
          },
        }
      : {}),
  });
  if (operatorView) {
    await app.register(async (scope: FastifyInstance) => {
      await registerBasicAuth(scope, credentials, { throttle: loginThrottle });
      (scope as unknown as HttpServer).get(
        '/sessions/:userId',
        {
          onRequest: scope.basicAuth,
          schema: {
            summary: "A user's stored session and bot flag",
            tags: ['operations'],
            security: [{ basicAuth: [] }],
            params: userIdParamsSchema,
            response: { 200: sessionViewSchema },
          },
        },
        async (request) => {
          const { userId } = request.params;
          const { signals, purchases, botFlag } = await sessions.inspect(userId);
          const iso = (time: number) => new Date(time).toISOString();
          return {
            userId,
            flagged: isFlagged(botFlag, now()),
            botFlag: botFlag === undefined ? null : { reason: botFlag.reason, until: iso(botFlag.until) },
            events: signals.map((s) => ({ type: s.type, productId: s.productId, category: s.category, at: iso(s.at) })),
            purchases: [...purchases].map(([productId, at]) => ({ productId, at: iso(at) })),
          };
        },
      );
    });
  } else {
    log.info('DASHBOARD_PASSWORD is not set: GET /sessions/:userId (the operator view) is off');
  }
  return app;
}

export interface SpeedDependencies {
  registry: Registry;
  /** Created here: whoever calls createSpeedDependencies closes it (closeRedis), after the consumer. */
  redis: RedisClient;
  kafka: Kafka;
  policy: SessionPolicy;
  sessions: SessionStore;
  /** Not started: the caller starts it, and closes it before Redis. */
  consumer: EventConsumer;
  /** What the consumer applied when: replayed after a Redis failover (failover-replay.ts). */
  appliedOffsets: AppliedOffsetLog;
}

/**
 * The speed layer's collaborators, assembled in one place for main.ts and the benchmarks, so a
 * benchmark measures the graph that runs in production. Nothing connects to Kafka until
 * `consumer.start()`.
 */
export function createSpeedDependencies(config: SpeedConfig, log: Logger): SpeedDependencies {
  const registry = createMetricsRegistry('speed');
  const redis = createRedis({ ...redisConnectionFrom(config), log, purpose: 'requests' });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'lambdarec-speed', log });
  const policy = sessionPolicyFrom(config);
  const botFlags = createSpeedBotFlagLedger({ redis, keyPrefix: config.REDIS_KEY_PREFIX, log, registry });
  const sessions = createSessionStore({ redis, keyPrefix: config.REDIS_KEY_PREFIX, policy, botFlags });
  const appliedOffsets = createAppliedOffsetLog();
  const consumer = createSpeedConsumer({
    appliedOffsets,
    kafka,
    topic: config.EVENTS_TOPIC,
    groupId: config.SPEED_GROUP_ID,
    sessions,
    policy,
    log,
    registry,
  });
  return { registry, redis, kafka, policy, sessions, consumer, appliedOffsets };
}
