import { Counter, Gauge, type Registry } from '@lambdarec/metrics';

/** What the shared event consumer reports as it goes; one object, so a consumer's metrics stay together. */
export interface ConsumerMetrics {
  /** Counts events by outcome (applied, archived, late, …). */
  count(outcome: string, events?: number): void;
  /** A record went to the DLQ. */
  deadLettered(reason: string): void;
  /** Records on the partition that the group has not committed yet (from the broker's high watermark). */
  lag(partition: number, records: number): void;
  /** The consumer crashed (kafkajs restarts it, or gives up). */
  crashed(): void;
}

/**
 * A consumer's metrics: `<prefix>_events_total` by outcome, `<prefix>_consumer_lag` by partition
 * and `<prefix>_consumer_crashes_total`.
 */
export function createConsumerMetrics({
  registry,
  prefix,
  subject,
  outcomes,
}: {
  registry: Registry;
  prefix: string;
  subject: string;
  /** The outcomes the consumer counts, for the help text. */
  outcomes: string;
}): ConsumerMetrics {
  const events = new Counter({
    name: `${prefix}_events_total`,
    help: `Events seen by the ${subject}, by outcome (${outcomes}, dead-lettered)`,
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const lag = new Gauge({
    name: `${prefix}_consumer_lag`,
    help: `Records on the partition not yet committed by the ${subject}: the broker's high watermark minus the group's offset, sampled on a timer`,
    labelNames: ['partition'] as const,
    registers: [registry],
  });
  const crashes = new Counter({
    name: `${prefix}_consumer_crashes_total`,
    help: `Crashes of the ${subject}'s Kafka consumer (it restarts after each, unless the error is fatal)`,
    registers: [registry],
  });
  return {
    count: (outcome, n = 1) => events.inc({ outcome }, n),
    deadLettered: () => events.inc({ outcome: 'dead-lettered' }),
    lag: (partition, records) => lag.set({ partition: String(partition) }, records),
    crashed: () => crashes.inc(),
  };
}
