import { Partitioners, type Kafka, type Producer, type ProducerRecord, type RecordMetadata, type RetryOptions } from 'kafkajs';
import type { Logger } from './logger.js';

/** An idempotent producer that is replaced after a send that failed for good. */
export interface RenewableProducer {
  connect(): Promise<void>;
  /** Sends run one at a time, in the order they were asked for. */
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  /** Whether the current producer is connected and no failed send has left it stale. */
  isReady(): boolean;
  /** Replaces a stale producer now rather than at the next send (an idle instance's readiness). */
  renewIfStale(): Promise<void>;
  /** Disconnects the current producer, and retired ones still disconnecting. */
  disconnect(): Promise<void>;
}

/**
 * An idempotent producer (acks from all in-sync replicas make a retried send harmless) whose sends
 * run one at a time: kafkajs 2.2.4's idempotent producer breaks its sequence numbers on concurrent
 * sends (OUT_OF_ORDER_SEQUENCE_NUMBER under load).
 *
 * After a send that failed for good, the producer is replaced (a new producer id) before the next
 * send. kafkajs 2.2.4 rolls a partition's sequence number back when an attempt fails, even when a
 * stalled broker appended the batch: the next send would reuse the number, and the broker would
 * take it as a duplicate (the same record count: acknowledged, never written) or refuse every
 * later send as out of order. A new producer id starts its sequences afresh. Ingest's publisher
 * and the consumers' DLQ both send through one.
 */
export function createRenewableProducer({
  kafka,
  log,
  name,
  retry,
}: {
  kafka: Kafka;
  log: Logger;
  /** How the log names it, e.g. "DLQ producer". */
  name: string;
  retry?: RetryOptions;
}): RenewableProducer {
  let producer: Producer;
  let connected = false;
  const create = (): Producer => {
    const created = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // murmur2 on the key, as Java clients do: an outside producer puts a user on the same partition.
      createPartitioner: Partitioners.DefaultPartitioner,
      ...(retry === undefined ? {} : { retry }),
    });
    // Only the current producer's connection counts; a retired one's events are not its.
    created.on(created.events.CONNECT, () => void (created === producer && (connected = true)));
    created.on(created.events.DISCONNECT, () => void (created === producer && (connected = false)));
    return created;
  };
  producer = create();
  /** A send failed for good: the producer's sequence numbers may be out of step with the broker's. */
  let stale = false;
  let replacing: Promise<void> | undefined;
  const retiring = new Set<Promise<void>>();
  let closed = false;
  let sends: Promise<unknown> = Promise.resolve();

  /** One replacement at a time, shared by a send and a readiness probe that both find it stale. */
  function replace(): Promise<void> {
    replacing ??= (async () => {
      if (closed) throw new Error(`the ${name} is closed`);
      const retired = producer;
      producer = create();
      connected = false;
      // kafkajs lets the retired producer's requests in flight finish first: not waited for here.
      const disconnected = retired
        .disconnect()
        .catch((err: unknown) => log.debug({ err }, `the retired ${name} did not disconnect cleanly`));
      retiring.add(disconnected);
      void disconnected.finally(() => retiring.delete(disconnected));
      await producer.connect();
      stale = false;
      log.info(`${name} replaced after a failed send (a new producer id)`);
    })().finally(() => (replacing = undefined));
    return replacing;
  }

  return {
    connect: () => producer.connect(),
    send(record) {
      const sent = sends.then(async () => {
        try {
          if (stale) await replace();
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
    isReady: () => connected && !stale,
    async renewIfStale() {
      if (stale) await replace();
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
