/**
 * When this instance applied which records: per partition, the first offset of each batch it wrote
 * to Redis and when the write was acknowledged. Redis replicates asynchronously, so a primary that
 * dies takes with it the writes its replica had not yet received; this log says which records to
 * apply again from the moment before the loss (`since`). Entries older than `retentionMs` are
 * dropped as new ones come, so memory stays bounded by the batch rate times the retention.
 */
export interface AppliedOffsetLog {
  /** A batch of `partition` starting at `firstOffset` is in Redis (acknowledged) as of now. */
  record(partition: number, firstOffset: string): void;
  /**
   * For each partition, the first offset of the earliest batch applied at or after `time`: a
   * replay from there covers every write made since. Partitions with no batch since are absent.
   */
  since(time: number): Map<number, bigint>;
}

export function createAppliedOffsetLog({
  retentionMs = 10 * 60_000,
  now = Date.now,
}: {
  /** How far back `since` can look. @defaultValue 600000 (ten minutes) */
  retentionMs?: number;
  /** @defaultValue Date.now */
  now?: () => number;
} = {}): AppliedOffsetLog {
  // Per partition, batches in the order applied: [appliedAt, firstOffset][].
  const batches = new Map<number, Array<[number, bigint]>>();
  return {
    record(partition, firstOffset) {
      const at = now();
      let list = batches.get(partition);
      if (list === undefined) batches.set(partition, (list = []));
      list.push([at, BigInt(firstOffset)]);
      let expired = 0;
      while (expired < list.length && list[expired]![0] < at - retentionMs) expired++;
      if (expired > 0) list.splice(0, expired);
    },
    since(time) {
      const starts = new Map<number, bigint>();
      for (const [partition, list] of batches) {
        // Batches of one partition are applied one after another, but a redelivered batch may
        // start below an earlier one: the smallest offset since `time` is where to begin.
        let start: bigint | undefined;
        for (const [at, offset] of list) if (at >= time && (start === undefined || offset < start)) start = offset;
        if (start !== undefined) starts.set(partition, start);
      }
      return starts;
    },
  };
}
