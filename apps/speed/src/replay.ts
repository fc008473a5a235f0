import { randomBytes } from 'node:crypto';
import { consumedEvent, decodeEventRecord, type ConsumedEvent } from '@lambdarec/contracts';
import { scanKeys, type Logger, type RedisClient } from '@lambdarec/clients';
import type { SessionPolicy } from '@lambdarec/domain';
import type { Kafka } from 'kafkajs';
import type { SessionApplier } from './session-applier.js';

export interface ReplayResult {
  fromTime: number;
  records: number;
  applied: number;
  partitions: number;
}

/**
 * Where a replay starts: far enough back for every purchase that still suppresses and every event
 * still in a session window, and at least one session window before the published run's watermark
 * when there is one (what the batch view already knows plus the session around it).
 */
export function replayStartTime(now: number, policy: SessionPolicy, watermarkTime?: number): number {
  const recent = now - Math.max(policy.sessionWindowMs, policy.purchaseSuppressionMs);
  return watermarkTime === undefined ? recent : Math.min(recent, watermarkTime - policy.sessionWindowMs);
}

/**
 * Rebuilds session state from the topic after Redis lost it: reads every partition from the first
 * record at or after `fromTime` up to the end it had when the replay started, through the same
 * applier as the live consumer. Applying is idempotent, so the live consumer may run meanwhile.
 * It uses a throwaway consumer group that commits nothing and is deleted afterwards.
 */
export async function replaySessions({
  kafka,
  topic,
  applier,
  log,
  fromTime,
  startOffsets,
  timeoutMs = 600_000,
}: {
  kafka: Kafka;
  topic: string;
  applier: SessionApplier;
  log: Logger;
  /** The first record at or after this arrival time, on every partition. */
  fromTime: number;
  /**
   * Instead of `fromTime`: these partitions only, each from its offset (what this instance applied
   * since a moment, after a Redis failover that may have lost it).
   */
  startOffsets?: ReadonlyMap<number, bigint>;
  /** A replay that has not reached the end by then fails (it can be run again). @defaultValue 600000 */
  timeoutMs?: number;
}): Promise<ReplayResult> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `lambdarec-speed-replay-${randomBytes(4).toString('hex')}`;
  try {
    const [starts, ends] = await Promise.all([
      startOffsets === undefined ? admin.fetchTopicOffsetsByTimestamp(topic, fromTime) : [],
      admin.fetchTopicOffsets(topic),
    ]);
    const endOf = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
    const startOf = startOffsets === undefined ? new Map(starts.map((s) => [s.partition, BigInt(s.offset)])) : new Map(startOffsets);
    const pending = new Set(
      [...startOf].filter(([partition, start]) => start < (endOf.get(partition) ?? 0n)).map(([partition]) => partition),
    );
    const result: ReplayResult = { fromTime, records: 0, applied: 0, partitions: pending.size };
    if (pending.size === 0) return result;
    log.info({ fromTime: new Date(fromTime).toISOString(), partitions: pending.size }, 'replaying session events from the topic');

    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    await consumer.connect();
    try {
      let finish!: () => void;
      let fail!: (err: unknown) => void;
      const finished = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
      // kafkajs reports every batch here, also those it does not hand to eachBatch (transaction
      // markers, aborted records): a partition whose last records are such is done all the same.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic !== topic || !pending.has(payload.partition)) return;
        if (BigInt(payload.lastOffset) + 1n >= (endOf.get(payload.partition) ?? 0n)) pending.delete(payload.partition);
        if (pending.size === 0) finish();
      });
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat }) => {
          try {
            const start = startOf.get(batch.partition) ?? 0n;
            const end = endOf.get(batch.partition) ?? 0n;
            const events: ConsumedEvent[] = [];
            for (const message of batch.messages) {
              const offset = BigInt(message.offset);
              if (offset < start || offset >= end) continue;
              result.records++;
              const decoded = decodeEventRecord(message);
              // The live consumer dead-lettered what does not decode; the replay just skips it.
              if (decoded.ok) events.push(consumedEvent(decoded, message.offset));
            }
            result.applied += (await applier.apply(events)).applied;
            if (BigInt(batch.lastOffset()) + 1n >= end) pending.delete(batch.partition);
            await heartbeat();
            if (pending.size === 0) finish();
          } catch (err) {
            fail(err);
            throw err;
          }
        },
      });
      for (const [partition, offset] of startOf) if (pending.has(partition)) consumer.seek({ topic, partition, offset: offset.toString() });
      const timer = setTimeout(() => fail(new Error(`session replay did not reach the end of ${topic} within ${timeoutMs} ms`)), timeoutMs);
      try {
        await finished;
      } finally {
        clearTimeout(timer);
      }
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    log.info(result, 'session replay finished');
    return result;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Whether Redis holds no session at all under the prefix (a fresh install, or a Redis that lost its
 * data). On a Redis Cluster every primary is scanned: any one of them may hold the only session.
 */
export async function sessionsAreEmpty(redis: RedisClient, keyPrefix: string): Promise<boolean> {
  // scanKeys skips SCAN's empty pages before the end: the first page it yields is a session.
  for await (const keys of scanKeys(redis, `${keyPrefix}session:*`)) if (keys.length > 0) return false;
  return true;
}
