import { createServiceConsumer, type EventConsumer, type ServiceConsumerOptions } from '@lambdarec/clients';
import type { EventArchive } from '@lambdarec/stores';

/**
 * The archiver: every event on the topic, once, in the master dataset. Events and the partition's
 * offset are written in one transaction and inserts ignore known eventIds, so redelivery (and an
 * outside publisher sending an event twice) adds nothing.
 */
export function createArchiver({ archive, ...consumer }: ServiceConsumerOptions & { archive: EventArchive }): EventConsumer {
  return createServiceConsumer({
    ...consumer,
    metrics: { prefix: 'lrec_archive', subject: 'archiver', outcomes: 'archived, duplicate' },
    handler: (metrics) => async (batch) => {
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
