import type { Logger } from '@lambdarec/clients';
import { Counter, type Registry } from '@lambdarec/metrics';
import type { AppliedOffsetLog } from './applied-offsets.js';

export interface FailoverReplay {
  /** Starts watching (the first look sets the epoch it compares with). */
  start(): void;
  /** Stops watching and waits for a replay under way. Idempotent. */
  close(): Promise<void>;
}

/**
 * Makes good the writes a Redis failover or restart may have lost. Every `intervalMs` it reads the
 * Redis epoch (redisEpoch: which primaries serve the slots, and since which start). A look that
 * finds the same epoch as the last confirms that everything applied until shortly before it
 * survived (replication lags by milliseconds, bounded here by `marginMs`). A look that finds
 * another epoch means writes since the last confirmation may be gone: this instance applies again
 * every batch it wrote from `marginMs` before that confirmation (appliedOffsets), from Kafka.
 * Applying is idempotent, so a replay that finds nothing lost changes nothing. A look that fails
 * (Redis down, the cluster in the middle of a failover) confirms nothing and is tried again.
 */
export function createFailoverReplay({
  epoch,
  appliedOffsets,
  replay,
  log,
  registry,
  intervalMs = 1_000,
  marginMs = 10_000,
  now = Date.now,
}: {
  /** The current epoch (redisEpoch bound to the speed layer's client). */
  epoch: () => Promise<string>;
  appliedOffsets: AppliedOffsetLog;
  /** Applies again, from Kafka, these partitions from these offsets. */
  replay: (startOffsets: Map<number, bigint>) => Promise<unknown>;
  log: Logger;
  registry: Registry;
  /** @defaultValue 1000 */
  intervalMs?: number;
  /** How long before a confirmation a write may still have been unreplicated. @defaultValue 10000 */
  marginMs?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}): FailoverReplay {
  const changes = new Counter({
    name: 'lrec_speed_redis_epoch_changes_total',
    help: 'Redis failovers or restarts the speed layer noticed (each starts a replay of what this instance applied since shortly before)',
    registers: [registry],
  });
  let known: string | undefined;
  let confirmedAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // Replays run one at a time; a change noticed meanwhile is replayed after, from its own moment.
  let replays: Promise<void> = Promise.resolve();

  async function look() {
    const startedAt = now();
    let current: string;
    try {
      current = await epoch();
    } catch {
      return;
    }
    if (known === undefined || current === known) {
      known = current;
      // The epoch was already this one when the look began.
      confirmedAt = startedAt;
      return;
    }
    const from = (confirmedAt ?? startedAt) - marginMs;
    known = current;
    confirmedAt = startedAt;
    changes.inc();
    const startOffsets = appliedOffsets.since(from);
    log.warn(
      { since: new Date(from).toISOString(), partitions: Object.fromEntries([...startOffsets].map(([p, o]) => [p, o.toString()])) },
      'Redis failed over or restarted: applying again, from Kafka, what this instance wrote since shortly before',
    );
    if (startOffsets.size === 0) return;
    replays = replays.then(() =>
      replay(startOffsets).then(
        () => log.info('replay after the Redis failover finished'),
        (err: unknown) => log.error({ err }, 'replay after the Redis failover failed; run npm run replay-sessions'),
      ),
    );
  }

  function schedule() {
    if (closed) return;
    timer = setTimeout(() => void look().finally(schedule), intervalMs);
    timer.unref();
  }

  return {
    start() {
      void look().finally(schedule);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await replays;
    },
  };
}
