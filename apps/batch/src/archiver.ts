import { createConsumerMetrics, createEventConsumer, type EventConsumer, type Logger } from '@lambdarec/clients';
import type { Registry } from '@lambdarec/http';
import type { EventArchive } from '@lambdarec/stores';
import type { Kafka } from 'kafkajs';

/**
 * The archiver: every event on the topic, once, in the master dataset. Events and the partition's
 * offset are written in one transaction and inserts ignore known eventIds, so redelivery (and an
 * outside publisher sending an event twice) adds nothing.
 */
export function createArchiver({
  kafka,
  topic,
  groupId,
  archive,
  log,
  registry,
  onFatal,
  lagIntervalMs,
}: {
  kafka: Kafka;
  topic: string;
  groupId: string;
  archive: EventArchive;
  log: Logger;
  registry: Registry;
  onFatal?: (err: Error) => void;
  /** How often lag is sampled from the broker. @defaultValue 15000 */
  lagIntervalMs?: number;
}): EventConsumer {
  const metrics = createConsumerMetrics({ registry, prefix: 'lrec_archive', subject: 'archiver', outcomes: 'archived, duplicate' });
  return createEventConsumer({
    kafka,
    topic,
    groupId,
    log,
    ...(onFatal === undefined ? {} : { onFatal }),
    ...(lagIntervalMs === undefined ? {} : { lagIntervalMs }),
    metrics,
    async handle(batch) {
      const inserted = await archive.append({
        topic: batch.topic,
        partition: batch.partition,
        nextOffset: batch.nextOffset,
        events: batch.events,
      });
      metrics.count('archived', inserted);
      metrics.count('duplicate', batch.events.length - inserted);
    },
  });
}
