import { consumedEvent, decodeEventRecord, DLQ_HEADERS, dlqTopicFor, type ConsumedEvent, type PartitionBatch } from '@lambdarec/contracts';
import { CompressionTypes, type Consumer, type Kafka, type KafkaMessage } from 'kafkajs';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { createRenewableProducer } from './renewable-producer.js';
import { planDlqSends, type DlqLimits } from './dlq-sends.js';
import type { Logger } from './logger.js';
import { isRecordRejection } from './record-errors.js';

export interface EventConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  log: Logger;
  /**
   * Applies one partition's batch of valid events. Its offsets are committed only after it
   * resolves; if it throws, the batch is redelivered, so it must be idempotent.
   */
  handle: (batch: PartitionBatch) => Promise<void>;
  /** Dead letters, lag and crashes are reported here. */
  metrics?: ConsumerMetrics;
  /**
   * How often one event is tried on its own, after the store refused its batch, before it goes to
   * the DLQ. Errors that are not refusals (the store is down) are retried without limit instead.
   * @defaultValue 3
   */
  maxAttempts?: number;
  /**
   * How often lag is sampled from the broker (high watermarks against the group's committed
   * offsets): a consumer that is stuck, or has nothing to consume, still reports it. @defaultValue 15000
   */
  lagIntervalMs?: number;
  /** Crashes within `crashWindowMs` that make the consumer "crash-looping" for readiness. @defaultValue 3 */
  crashLoopThreshold?: number;
  /** @defaultValue 300000 (5 minutes) */
  crashWindowMs?: number;
  /**
   * A consumer back in its group this long after its last crash is not crash-looping, however
   * many crashes the window holds: crashes at start-up (a group coordinator still loading after a
   * broker restart) must not keep a consumer that recovered out of rotation for the whole window.
   * @defaultValue 30000
   */
  crashLoopSettleMs?: number;
  /** @defaultValue false: a new group starts at the earliest offset, so nothing already on the topic is skipped. */
  fromLatest?: boolean;
  /**
   * Partition batches handled at once. Above 1, `handle` must be safe to run concurrently for
   * different partitions (events of one key stay in one partition, so per-key work never
   * overlaps). @defaultValue 1
   */
  partitionsConsumedConcurrently?: number;
  /**
   * Called when kafkajs gives up and will not restart the consumer (a non-retriable error): the
   * process should stop rather than stay up, healthy-looking, without consuming.
   * @defaultValue raises the error as uncaught: the service logs it, closes, and exits non-zero
   */
  onFatal?: (err: Error) => void;
  /**
   * The most bytes one dead letter may take, below the DLQ topic's `max.message.bytes` (Kafka's
   * default is 1,048,588; the rest is room for the batch's framing). Dead letters are sent in
   * requests of a quarter of this; a larger one goes alone, compressed if need be, or without its
   * value when even that does not fit.
   * @defaultValue 1000000
   */
  dlqMaxRecordBytes?: number;
  /** This host's clock: the arrival of a record without a usable timestamp, and a bound on record times. @defaultValue Date.now */
  clock?: () => number;
}

const raiseUncaught = (err: Error) =>
  setImmediate(() => {
    throw err;
  });

export interface EventConsumer {
  start(): Promise<void>;
  /** True once the consumer joined its group and has not crashed since. */
  isRunning(): boolean;
  /** Resolves when the broker answers (readiness: "kafka"). */
  brokerReachable(): Promise<void>;
  /** Resolves when the consumer is in its group and not crash-looping (readiness: "consumer"). */
  assertConsuming(): void;
  close(): Promise<void>;
}

/**
 * The shared consume loop of the speed layer and the archiver: records are decoded with the
 * shared event schema, poison records go to `<topic>.dlq` with the reason in a header (then they
 * are skipped), valid ones are handed over per partition batch; offsets are committed after the
 * handler succeeded: at-least-once delivery, made exactly-once in effect by idempotent handlers.
 */
export function createEventConsumer({
  kafka,
  topic,
  groupId,
  log,
  handle,
  metrics,
  onFatal = raiseUncaught,
  fromLatest = false,
  partitionsConsumedConcurrently = 1,
  maxAttempts = 3,
  lagIntervalMs = 15_000,
  crashLoopThreshold = 3,
  crashWindowMs = 300_000,
  crashLoopSettleMs = 30_000,
  dlqMaxRecordBytes = 1_000_000,
  clock = Date.now,
}: EventConsumerOptions): EventConsumer {
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, allowAutoTopicCreation: false });
  const consumerLog = log.child({ component: 'event-consumer', topic, groupId });
  // One send at a time, and a new producer after a send that failed for good (see renewable-producer.ts).
  const dlqProducer = createRenewableProducer({ kafka, log: consumerLog, name: 'DLQ producer' });
  const dlqTopic = dlqTopicFor(topic);
  const dlqLimits: DlqLimits = { maxRecordBytes: dlqMaxRecordBytes, maxSendBytes: Math.floor(dlqMaxRecordBytes / 4) };
  // Lag, and the broker check of readiness, ask the broker directly: they must work while the
  // consumer itself is stuck or restarting.
  const admin = kafka.admin();
  let running = false;
  // The admin client is shared with start(); asking it before start() connected it races the
  // connection (kafkajs then fails start with "Broker not connected").
  let adminReady = false;
  const crashes: number[] = [];
  let lagTimer: NodeJS.Timeout | undefined;
  consumer.on(consumer.events.GROUP_JOIN, () => (running = true));
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    running = false;
    crashes.push(Date.now());
    metrics?.crashed();
    consumerLog.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    if (!payload.restart) onFatal(payload.error);
  });
  consumer.on(consumer.events.STOP, () => (running = false));

  async function sampleLag(): Promise<void> {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const committedByPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    for (const { partition, high, low } of ends) {
      const at = committedByPartition.get(partition) ?? -1n;
      // -1: nothing committed yet, so everything still on the partition is ahead.
      const from = at < 0n ? BigInt(low) : at;
      const lag = BigInt(high) - from;
      metrics?.lag(partition, Number(lag > 0n ? lag : 0n));
    }
  }

  return {
    async start() {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = [topic, dlqTopic].filter((name) => !existing.has(name));
      if (missing.length > 0) {
        await admin.disconnect();
        throw new Error(`Kafka topic(s) ${missing.join(', ')} do not exist; create them (npm run infra:up creates the defaults)`);
      }
      adminReady = true;
      await dlqProducer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: !fromLatest });
      await consumer.run({
        autoCommit: true,
        partitionsConsumedConcurrently,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
          if (batch.messages.length === 0) return;
          const now = clock();
          const events: ConsumedEvent[] = [];
          const poison: Array<{ reason: string; message: KafkaMessage }> = [];
          const messagesByOffset = new Map<string, KafkaMessage>();
          for (const message of batch.messages) {
            messagesByOffset.set(message.offset, message);
            const decoded = decodeEventRecord(message, now);
            if (decoded.ok) events.push(consumedEvent(decoded, message.offset));
            else poison.push({ reason: decoded.reason, message });
          }
          const deadLetter = async (entries: ReadonlyArray<{ reason: string; message: KafkaMessage }>) => {
            if (entries.length === 0) return;
            // Invalid, refused and undecodable records alike: one batch's dead letters can be far more
            // than the broker takes in one request. If a later send fails, the batch is redelivered
            // and the earlier sends repeat: the source offset header tells the copies apart.
            const sends = await planDlqSends(
              entries.map(({ reason, message }) => ({
                key: message.key,
                value: message.value,
                headers: message.headers ?? {},
                dlqHeaders: {
                  [DLQ_HEADERS.reason]: reason,
                  [DLQ_HEADERS.sourceTopic]: batch.topic,
                  [DLQ_HEADERS.sourcePartition]: String(batch.partition),
                  [DLQ_HEADERS.sourceOffset]: message.offset,
                  [DLQ_HEADERS.consumerGroup]: groupId,
                },
              })),
              dlqLimits,
            );
            for (const { records, compressed } of sends) {
              await dlqProducer.send({
                topic: dlqTopic,
                acks: -1,
                messages: records,
                ...(compressed ? { compression: CompressionTypes.GZIP } : {}),
              });
              await heartbeat();
            }
            for (const { reason, message } of entries) {
              consumerLog.warn({ partition: batch.partition, offset: message.offset, reason }, 'record sent to DLQ');
              metrics?.deadLettered(reason);
            }
          };
          if (!isRunning() || isStale()) return;
          const lastOffset = batch.lastOffset();
          const nextOffset = (BigInt(lastOffset) + 1n).toString();
          const partitionBatch = (part: readonly ConsumedEvent[], next: string): PartitionBatch => ({
            topic: batch.topic,
            partition: batch.partition,
            events: part,
            nextOffset: next,
          });
          try {
            await handle(partitionBatch(events, nextOffset));
          } catch (err) {
            if (!isRecordRejection(err)) throw err;
            // The store refused something in the batch: find which events, one at a time, so the
            // rest are applied and only the refused ones go to the DLQ. Every step is idempotent,
            // so a redelivery after a failure here repeats nothing harmful.
            consumerLog.warn(
              { err, partition: batch.partition, events: events.length },
              'the store refused a batch; applying it one event at a time',
            );
            const refused: Array<{ reason: string; message: KafkaMessage }> = [];
            for (const consumed of events) {
              for (let attempt = 1; ; attempt++) {
                try {
                  await handle(partitionBatch([consumed], (BigInt(consumed.offset) + 1n).toString()));
                  break;
                } catch (eventErr) {
                  if (!isRecordRejection(eventErr)) throw eventErr;
                  if (attempt >= maxAttempts) {
                    const { code, message } = eventErr as { code?: unknown; message?: unknown };
                    refused.push({
                      reason: `refused by the store after ${attempt} attempts: ${typeof code === 'string' ? `${code} ` : ''}${String(message)}`,
                      message: messagesByOffset.get(consumed.offset)!,
                    });
                    break;
                  }
                }
              }
              await heartbeat();
            }
            poison.push(...refused);
            // Records the partition's progress past the whole batch (the archiver keeps it with the events).
            await handle(partitionBatch([], nextOffset));
          }
          // Dead letters go out once the batch is applied, right before its offset is resolved: a
          // batch redelivered after a failed handler (a store outage) does not send them again.
          await deadLetter(poison);
          resolveOffset(lastOffset);
          await commitOffsetsIfNecessary();
          await heartbeat();
        },
      });
      if (metrics !== undefined) {
        lagTimer = setInterval(() => {
          sampleLag().catch((err: unknown) => consumerLog.debug({ err }, 'could not sample consumer lag'));
        }, lagIntervalMs);
        lagTimer.unref();
      }
    },
    isRunning: () => running,
    async brokerReachable() {
      if (!adminReady) throw new Error('the consumer has not connected to the broker yet');
      await admin.describeCluster();
    },
    assertConsuming() {
      const since = Date.now() - crashWindowMs;
      while (crashes.length > 0 && crashes[0]! < since) crashes.shift();
      const settled = running && Date.now() - (crashes.at(-1) ?? 0) >= crashLoopSettleMs;
      if (crashes.length >= crashLoopThreshold && !settled) {
        throw new Error(`consumer crash-looping: ${crashes.length} crashes in the last ${Math.round(crashWindowMs / 1000)} s`);
      }
      if (!running) throw new Error('consumer is not in its group');
    },
    async close() {
      clearInterval(lagTimer);
      adminReady = false;
      // All are released even if one fails; the failure is still reported to the closer.
      const results = await Promise.allSettled([consumer.disconnect(), dlqProducer.disconnect(), admin.disconnect()]);
      running = false;
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },
  };
}
