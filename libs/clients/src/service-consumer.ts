import type { PartitionBatch } from '@lambdarec/contracts';
import type { Kafka } from 'kafkajs';
import type { Registry } from '@lambdarec/metrics';
import { createConsumerMetrics, type ConsumerMetrics } from './consumer-metrics.js';
import { createEventConsumer, type EventConsumer } from './event-consumer.js';
import type { Logger } from './logger.js';

/** What a service hands to each of its event consumers (the speed layer's, the archiver). */
export interface ServiceConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  log: Logger;
  registry: Registry;
  /** @defaultValue raises the error as uncaught: the service logs it, closes, and exits non-zero */
  onFatal?: (err: Error) => void;
  /** How often lag is sampled from the broker. @defaultValue 15000 */
  lagIntervalMs?: number;
}

/**
 * A service's event consumer: the shared consume loop with the consumer's metrics in the service's
 * registry (`<prefix>_events_total`, `_consumer_lag`, `_consumer_crashes_total`). `handler` gets
 * those metrics, to count its own outcomes, and returns the batch handler.
 */
export function createServiceConsumer({
  registry,
  metrics: naming,
  handler,
  ...consumer
}: ServiceConsumerOptions & {
  /** Names of the consumer's metrics; see `createConsumerMetrics`. */
  metrics: { prefix: string; subject: string; outcomes: string };
  /** Partition batches handled at once. @defaultValue 1 */
  partitionsConsumedConcurrently?: number;
  handler: (metrics: ConsumerMetrics) => (batch: PartitionBatch) => Promise<void>;
}): EventConsumer {
  const metrics = createConsumerMetrics({ registry, ...naming });
  return createEventConsumer({ ...consumer, metrics, handle: handler(metrics) });
}
