import { createEventConsumer, type EventConsumer, type Logger } from '@lambdarec/clients';
import { createConsumerMetrics, type Registry } from '@lambdarec/http';
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
}: {
  kafka: Kafka;
  topic: string;
  groupId: string;
  archive: EventArchive;
  log: Logger;
  registry: Registry;
  onFatal?: (err: Error) => void;
}): EventConsumer {
  const metrics = createConsumerMetrics({ registry, prefix: 'lrec_archive', subject: 'archiver', outcomes: 'archived, duplicate, dead-lettered' });
  return createEventConsumer({
    kafka,
    topic,
    groupId,
    log,
    ...(onFatal === undefined ? {} : { onFatal }),
    onDeadLetter: metrics.onDeadLetter,
    onLag: metrics.onLag,
    async handle(batch) {
      const inserted = await archive.append({
        topic: batch.topic,
        partition: batch.partition,
        nextOffset: batch.nextOffset,
        events: batch.events,
      });
      metrics.events.inc({ outcome: 'archived' }, inserted);
      metrics.events.inc({ outcome: 'duplicate' }, batch.events.length - inserted);
    },
  });
}
