import { createConsumerMetrics, createEventConsumer, type EventConsumer, type Logger } from '@lambdarec/clients';
import { isPurchaseSuppressing, isWithinSessionWindow, type SessionPolicy, type SessionSignal } from '@lambdarec/domain';
import type { Registry } from '@lambdarec/http';
import type { SessionStore } from '@lambdarec/stores';
import type { Kafka } from 'kafkajs';

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
  return createEventConsumer({
    kafka,
    topic,
    groupId,
    log,
    ...(onFatal === undefined ? {} : { onFatal }),
    ...(lagIntervalMs === undefined ? {} : { lagIntervalMs }),
    metrics,
    async handle({ events, partition }) {
      const at = now();
      const signals: SessionSignal[] = [];
      for (const { event, eventTime } of events) {
        // A purchase matters for its whole suppression window (24 h), not just the session window:
        // after a lag or a replay, products bought hours ago must stay hidden.
        const relevant =
          event.type === 'purchase' ? isPurchaseSuppressing(eventTime.getTime(), at, policy) : isWithinSessionWindow(eventTime.getTime(), at, policy);
        if (!relevant) {
          metrics.count('late');
          continue;
        }
        signals.push({
          eventId: event.eventId,
          userId: event.userId,
          type: event.type,
          productId: event.productId,
          category: event.category ?? null,
          at: eventTime.getTime(),
        });
      }
      await sessions.record(signals);
      metrics.count('applied', signals.length);
      log.debug({ partition, applied: signals.length, received: events.length }, 'session state updated');
    },
  });
}
