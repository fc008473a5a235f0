import { ERROR_CODES, LrecError, type ClickEvent } from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';

export interface EventPublisher {
  /** Resolves only after every event is acknowledged by all in-sync replicas. */
  publish(events: readonly ClickEvent[]): Promise<void>;
  ready(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface EventPublisherOptions {
  kafka: Kafka;
  topic: string;
  log: Logger;
  /** How long a request may wait for the broker before answering 503. @defaultValue 10000 */
  sendTimeoutMs?: number;
}

/**
 * Produces events to the topic keyed by userId (one user's events stay in order), with an
 * idempotent producer and acks from all in-sync replicas: a retried send is not duplicated.
 */
export function createEventPublisher({ kafka, topic, log, sendTimeoutMs = 10_000 }: EventPublisherOptions): EventPublisher {
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // murmur2 on the key, as Java clients do: an outside producer puts a user on the same partition.
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
  const admin = kafka.admin();
  let connected = false;
  producer.on(producer.events.CONNECT, () => (connected = true));
  producer.on(producer.events.DISCONNECT, () => (connected = false));

  return {
    async start() {
      await Promise.all([producer.connect(), admin.connect()]);
    },
    async publish(events) {
      try {
        await producer.send({
          topic,
          acks: -1,
          timeout: sendTimeoutMs,
          messages: events.map((event) => ({
            key: event.userId,
            value: JSON.stringify(event),
            ...(event.timestamp === undefined ? {} : { timestamp: String(Date.parse(event.timestamp)) }),
          })),
        });
      } catch (err) {
        log.warn({ err, count: events.length }, 'kafka did not acknowledge events');
        throw new LrecError(ERROR_CODES.BROKER_UNAVAILABLE, 'the event broker cannot take events right now; retry later', {
          statusCode: 503,
          retriable: true,
          retryAfterSeconds: 5,
          cause: err,
        });
      }
    },
    async ready() {
      if (!connected) throw new Error('producer not connected');
      await admin.fetchTopicMetadata({ topics: [topic] });
    },
    async close() {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}
