import { ERROR_CODES, HISTORY_IMPORT_HEADER, LrecError, type TrackedEvent } from '@lambdarec/contracts';
import { createRenewableProducer, type Logger } from '@lambdarec/clients';
import type { Kafka, Message } from 'kafkajs';

export interface EventPublisher {
  /** Resolves only after every event is acknowledged by all in-sync replicas. */
  publish(events: readonly TrackedEvent[], options?: PublishOptions): Promise<void>;
  ready(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface PublishOptions {
  /** The operator's history import: its records carry HISTORY_IMPORT_HEADER, so the bot guard does not judge them. */
  historyImport?: boolean;
}

export interface EventPublisherOptions {
  kafka: Kafka;
  topic: string;
  log: Logger;
  /**
   * How long a request may wait for the broker before answering 503. Enforced here, per request:
   * kafkajs waits up to its request timeout (30 s) for each attempt, and retries, so a stalled
   * broker (a long GC pause, an overloaded host) would otherwise hold requests, and a shutdown,
   * for minutes. @defaultValue 10000
   */
  sendTimeoutMs?: number;
  /**
   * Bytes of events waiting behind the send in flight. Past it, new requests answer 503 with
   * Retry-After at once instead of queueing without bound while the broker is slow. @defaultValue 64 MiB
   */
  maxQueuedBytes?: number;
  /** How long close() waits for the broker to let the producer go. @defaultValue 3000 */
  disconnectTimeoutMs?: number;
}

/** Merged batches stay well under the broker's default 1 MB per partition batch. */
const MAX_BATCH_BYTES = 512 * 1024;

interface PendingSend {
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Produces events to the topic keyed by userId (one user's events stay in order), with an
 * idempotent producer and acks from all in-sync replicas: a retried send is not duplicated.
 *
 * Requests are coalesced: while one send is in flight, the events of concurrent requests queue
 * up and go out together in the next send, and each request resolves when the send carrying its
 * events is acknowledged. One send at a time keeps the idempotent producer's sequence numbers in
 * order (kafkajs 2.2.4 fails concurrent idempotent sends with OUT_OF_ORDER_SEQUENCE_NUMBER under
 * load), and batching is what makes it fast.
 *
 * After a send that failed for good, the producer is replaced (a new producer id) before the next
 * send: see createRenewableProducer.
 */
export function createEventPublisher({
  kafka,
  topic,
  log,
  sendTimeoutMs = 10_000,
  maxQueuedBytes = 64 * 1024 * 1024,
  disconnectTimeoutMs = 3_000,
}: EventPublisherOptions): EventPublisher {
  // Replaced after a send that failed for good (see createRenewableProducer).
  const producer = createRenewableProducer({
    kafka,
    log,
    name: 'kafka producer',
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
  const admin = kafka.admin();

  let queue: PendingSend[] = [];
  let queuedBytes = 0;
  let sending: Promise<void> | undefined;
  /** Requests not answered yet: close() waits for them (each is bounded by sendTimeoutMs). */
  const unanswered = new Set<Promise<void>>();

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      // Take whole requests up to the byte budget; the first always goes, however large.
      let bytes = 0;
      let take = 0;
      while (take < queue.length && (take === 0 || bytes + queue[take]!.bytes <= MAX_BATCH_BYTES)) bytes += queue[take++]!.bytes;
      const batch = queue.slice(0, take);
      queue = queue.slice(take);
      queuedBytes -= bytes;
      try {
        await producer.send({ topic, acks: -1, timeout: sendTimeoutMs, messages: batch.flatMap((pending) => pending.messages) });
        for (const pending of batch) pending.resolve();
      } catch (err) {
        log.warn({ err, requests: batch.length }, 'kafka did not acknowledge events');
        for (const pending of batch) pending.reject(err);
      }
    }
    sending = undefined;
  }

  return {
    async start() {
      await Promise.all([producer.connect(), admin.connect()]);
    },
    async publish(events, { historyImport = false } = {}) {
      // No record timestamp from the event: records carry their arrival (the broker's append time
      // on this project's topics, else this send's), so that retention, which goes by record time,
      // cannot delete backdated events before they are archived. Event time stays in the JSON.
      const messages = events.map((event) => ({
        key: event.userId,
        value: JSON.stringify(event),
        ...(historyImport ? { headers: { [HISTORY_IMPORT_HEADER]: '1' } } : {}),
      }));
      // Bytes on the wire, not UTF-16 code units: a CJK title is three bytes a character.
      const bytes = messages.reduce((sum, message) => sum + Buffer.byteLength(message.value) + Buffer.byteLength(message.key), 0);
      if (queuedBytes > 0 && queuedBytes + bytes > maxQueuedBytes) {
        throw new LrecError(ERROR_CODES.BROKER_UNAVAILABLE, 'too many events are waiting for the event broker; retry later', {
          statusCode: 503,
          retriable: true,
          retryAfterSeconds: 1,
        });
      }
      let timedOut: 'queued' | 'in flight' | undefined;
      const answered = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          // Still queued: it leaves the queue and is never sent. In flight: the broker may still
          // take it, which a retry with the same eventIds makes harmless (both layers de-duplicate).
          const at = queue.indexOf(pending);
          timedOut = at >= 0 ? 'queued' : 'in flight';
          if (at >= 0) {
            queue.splice(at, 1);
            queuedBytes -= bytes;
          }
          reject(new Error(`the broker did not acknowledge within ${sendTimeoutMs} ms`));
        }, sendTimeoutMs);
        const pending: PendingSend = {
          messages,
          bytes,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        queue.push(pending);
        queuedBytes += bytes;
        sending ??= drain();
      });
      unanswered.add(answered);
      try {
        await answered;
      } catch (err) {
        throw new LrecError(
          ERROR_CODES.BROKER_UNAVAILABLE,
          timedOut === 'in flight'
            ? `the event broker did not acknowledge within ${sendTimeoutMs / 1000} s; the events may still arrive: retry with the same eventIds`
            : 'the event broker cannot take events right now; retry later',
          { statusCode: 503, retriable: true, retryAfterSeconds: 5, cause: err },
        );
      } finally {
        unanswered.delete(answered);
      }
    },
    async ready() {
      // An idle instance replaces its stale producer here, so that it becomes ready again by itself.
      await producer.renewIfStale();
      if (!producer.isReady()) throw new Error('producer not connected');
      await admin.fetchTopicMetadata({ topics: [topic] });
    },
    async close() {
      // Requests already accepted are still sent, or answered 503 by their timers, before the
      // producer disconnects. A send stuck on a stalled broker is not waited for beyond that:
      // every request it carries has been answered by then, and disconnecting abandons it.
      await Promise.allSettled([...unanswered]);
      // kafkajs waits for requests in flight before it closes a connection, up to its request
      // timeout (30 s): on a stalled broker that would outlast the shutdown's grace.
      let timer: NodeJS.Timeout | undefined;
      const results = await Promise.race([
        Promise.allSettled([producer.disconnect(), admin.disconnect()]),
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), disconnectTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (results === undefined) {
        log.warn(
          { disconnectTimeoutMs },
          'kafka did not answer while disconnecting; leaving its connections to the exit (every request was answered)',
        );
        return;
      }
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },
  };
}
