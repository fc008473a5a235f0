import { Partitioners, type Kafka, type Producer, type ProducerRecord, type RecordMetadata } from 'kafkajs';
import type { Logger } from './logger.js';

/** The consumers' producer to their DLQ. */
export interface DlqProducer {
  connect(): Promise<void>;
  /** Sends run one at a time, in the order they were asked for. */
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  /** Disconnects the current producer, and retired ones still disconnecting. */
  disconnect(): Promise<void>;
}

/**
 * An idempotent producer whose sends run one at a time, whatever the partitions handled at once:
 * kafkajs 2.2.4's idempotent producer breaks its sequence numbers on concurrent sends
 * (OutOfOrderSequenceException).
 *
 * After a send that failed for good, the producer is replaced (a new producer id) before the next
 * send, as ingest's publisher does. kafkajs 2.2.4 rolls a partition's sequence number back when an
 * attempt fails, even when a stalled broker appended the batch; the redelivered poison batch's next
 * send would reuse the number, and the broker would refuse it as out of order for ever (another
 * record count: the consumer stops) or take it as a duplicate (the same count: acknowledged, never
 * written, dead letters lost). A new producer id starts its sequences afresh.
 */
export function createDlqProducer({ kafka, log }: { kafka: Kafka; log: Logger }): DlqProducer {
  const create = (): Producer =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  let producer = create();
  /** A send failed for good: the producer's sequence numbers may be out of step with the broker's. */
  let stale = false;
  let replacing: Promise<void> | undefined;
  const retiring = new Set<Promise<void>>();
  let closed = false;
  let sends: Promise<unknown> = Promise.resolve();

  async function replace(): Promise<void> {
    if (closed) throw new Error('the DLQ producer is closed');
    const retired = producer;
    producer = create();
    // kafkajs lets the retired producer's requests in flight finish first: not waited for here.
    const disconnected = retired
      .disconnect()
      .catch((err: unknown) => log.debug({ err }, 'the retired DLQ producer did not disconnect cleanly'));
    retiring.add(disconnected);
    void disconnected.finally(() => retiring.delete(disconnected));
    await producer.connect();
    stale = false;
    log.info('DLQ producer replaced after a failed send (a new producer id)');
  }

  return {
    connect: () => producer.connect(),
    send(record) {
      const sent = sends.then(async () => {
        try {
          if (stale) {
            replacing = replace();
            await replacing.finally(() => (replacing = undefined));
          }
          return await producer.send(record);
        } catch (err) {
          // Whatever failed (the send, or connecting its replacement), the next send gets a fresh producer.
          stale = true;
          throw err;
        }
      });
      sends = sent.catch(() => undefined);
      return sent;
    },
    async disconnect() {
      closed = true;
      // A replacement still connecting is let finish, so that its connections close too.
      await replacing?.catch(() => undefined);
      const results = await Promise.allSettled([producer.disconnect(), ...retiring]);
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },
  };
}
