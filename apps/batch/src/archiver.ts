import { createEventConsumer, type EventConsumer, type Logger } from '@lambdarec/clients';
import { Counter, Gauge, type Registry } from '@lambdarec/http';
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
  const metrics = {
    events: new Counter({
      name: 'lrec_archive_events_total',
      help: 'Events seen by the archiver, by outcome (archived, duplicate, dead-lettered)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'lrec_archive_consumer_lag',
      help: 'Records on the partition not yet applied by the archiver, after its last batch',
      labelNames: ['partition'] as const,
      registers: [registry],
    }),
  };
  return createEventConsumer({
    kafka,
    topic,
    groupId,
    log,
    ...(onFatal === undefined ? {} : { onFatal }),
    onDeadLetter: () => metrics.events.inc({ outcome: 'dead-lettered' }),
    onLag: (partition, lag) => metrics.lag.set({ partition: String(partition) }, lag),
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
