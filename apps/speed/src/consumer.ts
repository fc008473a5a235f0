import { createConsumerMetrics, createEventConsumer, type EventConsumer, type Logger } from '@lambdarec/clients';
import type { SessionPolicy } from '@lambdarec/domain';
import type { Registry } from '@lambdarec/http';
import type { SessionStore } from '@lambdarec/stores';
import type { Kafka } from 'kafkajs';
import { createSessionApplier } from './session-applier.js';

export interface SpeedConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  sessions: SessionStore;
  policy: SessionPolicy;
  log: Logger;
  registry: Registry;
  onFatal?: (err: Error) => void;
  /** How often lag is sampled from the broker. @defaultValue 15000 */
  lagIntervalMs?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

/**
 * The speed layer: every event inside the session window (purchases: inside their suppression
 * window) becomes session state in Redis. Older events are left to the batch layer.
 */
export function createSpeedConsumer({
  kafka,
  topic,
  groupId,
  sessions,
  policy,
  log,
  registry,
  onFatal,
  lagIntervalMs,
  now = Date.now,
}: SpeedConsumerOptions): EventConsumer {
  const metrics = createConsumerMetrics({ registry, prefix: 'lrec_speed', subject: 'speed layer', outcomes: 'applied, late' });
  const applier = createSessionApplier({ sessions, policy, metrics, now });
  return createEventConsumer({
    kafka,
    topic,
    groupId,
    log,
    ...(onFatal === undefined ? {} : { onFatal }),
    ...(lagIntervalMs === undefined ? {} : { lagIntervalMs }),
    metrics,
    async handle({ events, partition }) {
      const { applied } = await applier.apply(events);
      log.debug({ partition, applied, received: events.length }, 'session state updated');
    },
  });
}
