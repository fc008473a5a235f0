import { createServiceConsumer, type EventConsumer, type ServiceConsumerOptions } from '@lambdarec/clients';
import type { SessionPolicy } from '@lambdarec/domain';
import { Counter } from '@lambdarec/metrics';
import type { SessionStore } from '@lambdarec/stores';
import type { AppliedOffsetLog } from './applied-offsets.js';
import { createSessionApplier } from './session-applier.js';

export interface SpeedConsumerOptions extends ServiceConsumerOptions {
  sessions: SessionStore;
  policy: SessionPolicy;
  /**
   * Events applied to Redis in one pipeline. A partition's batch during a backlog holds thousands
   * of events (kafkajs fetches up to 1 MiB a partition) for as many users, and the session store
   * runs one Lua merge per user: in one pipeline, the last replies came after the client's 1 s
   * command timeout on a busy machine (bench:speed), the batch failed and was fetched again, and a
   * slow enough Redis would never get past it. Slices keep each pipeline far inside the timeout.
   * @defaultValue 1000
   */
  applyChunkEvents?: number;
  /**
   * Partitions applied at once. A user's events stay in one partition (key = userId), so
   * partitions never touch the same session, and a partition's fresh event need not wait behind
   * another partition's pipeline and commit, which cuts the time from ingest's answer to visible
   * under load (ADR 014). @defaultValue 6
   */
  partitionsConsumedConcurrently?: number;
  /** @defaultValue Date.now */
  now?: () => number;
  /** Told of each batch once it is in Redis, so a failover can replay what it lost (failover-replay.ts). */
  appliedOffsets?: AppliedOffsetLog;
}

/**
 * The speed layer: every event inside the session window (purchases: inside their suppression
 * window) becomes session state in Redis, and the bot guard judges every live event on arrival.
 * Older events are left to the batch layer.
 */
export function createSpeedConsumer({
  sessions,
  policy,
  applyChunkEvents = 1000,
  partitionsConsumedConcurrently = 6,
  now = Date.now,
  appliedOffsets,
  ...consumer
}: SpeedConsumerOptions): EventConsumer {
  const { log, registry } = consumer;
  return createServiceConsumer({
    ...consumer,
    partitionsConsumedConcurrently,
    metrics: { prefix: 'lrec_speed', subject: 'speed layer', outcomes: 'applied, late' },
    handler(metrics) {
      const botFlags = new Counter({
        name: 'lrec_bot_flags_total',
        help: 'Users the bot guard flagged (a flag still on and extended is not counted again), by reason: rate or repeat',
        labelNames: ['reason'],
        registers: [registry],
      });
      const applier = createSessionApplier({
        sessions,
        policy,
        metrics,
        now,
        onBotFlags(flags) {
          for (const flag of flags) {
            if (!flag.raised) continue;
            botFlags.inc({ reason: flag.reason });
            log.warn(
              {
                userId: flag.userId,
                reason: flag.reason,
                from: new Date(flag.from).toISOString(),
                until: new Date(flag.until).toISOString(),
              },
              'bot guard: user flagged; the events that arrive from its start to its end move no session boosts and stay out of the batch model',
            );
          }
        },
      });
      return async ({ events, partition }) => {
        let applied = 0;
        for (let from = 0; from < events.length; from += applyChunkEvents) {
          applied += (await applier.apply(events.slice(from, from + applyChunkEvents))).applied;
        }
        if (events.length > 0) appliedOffsets?.record(partition, events[0]!.offset);
        log.debug({ partition, applied, received: events.length }, 'session state updated');
      };
    },
  });
}
