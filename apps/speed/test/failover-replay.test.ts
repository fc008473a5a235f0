import { createLogger } from '@lambdarec/clients';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { describe, expect, it } from 'vitest';
import { createAppliedOffsetLog } from '../src/applied-offsets.js';
import { createFailoverReplay } from '../src/failover-replay.js';

describe('the applied-offset log', () => {
  it('answers, per partition, the smallest first offset of the batches applied since a time', () => {
    let clock = 1_000;
    const log = createAppliedOffsetLog({ now: () => clock });
    log.record(0, '10');
    clock = 2_000;
    log.record(0, '20');
    log.record(1, '5');
    clock = 3_000;
    // A redelivered batch may start below the one before it.
    log.record(0, '15');
    expect(log.since(2_000)).toEqual(
      new Map([
        [0, 15n],
        [1, 5n],
      ]),
    );
    expect(log.since(1_000)).toEqual(
      new Map([
        [0, 10n],
        [1, 5n],
      ]),
    );
    expect(log.since(3_001)).toEqual(new Map());
  });

  it('forgets batches older than its retention', () => {
    let clock = 0;
    const log = createAppliedOffsetLog({ now: () => clock, retentionMs: 1_000 });
    log.record(2, '1');
    clock = 5_000;
    log.record(2, '9');
    expect(log.since(0)).toEqual(new Map([[2, 9n]]));
  });
});

describe('the failover replay', () => {
  it('replays what was applied since shortly before the last confirmed epoch, once per change, and never on a failed look', async () => {
    let clock = 100_000;
    const epochs: Array<string | Error> = ['a', 'a', new Error('CLUSTERDOWN'), 'b', 'b'];
    const applied = createAppliedOffsetLog({ now: () => clock });
    const replays: Array<Map<number, bigint>> = [];
    const watcher = createFailoverReplay({
      epoch: async () => {
        const next = epochs.shift() ?? 'b';
        if (next instanceof Error) throw next;
        return next;
      },
      appliedOffsets: applied,
      replay: async (offsets) => void replays.push(offsets),
      log: createLogger({ name: 'failover-replay-test', level: 'silent' }),
      registry: createMetricsRegistry('speed-test'),
      intervalMs: 5,
      marginMs: 1_000,
      now: () => clock,
    });
    // Batches applied long before the last confirmation are safe; those after its margin are not.
    applied.record(0, '1');
    clock = 150_000;
    applied.record(0, '7');
    applied.record(3, '40');
    watcher.start();
    await expect.poll(() => epochs.length, { timeout: 5_000 }).toBe(0);
    await watcher.close();
    expect(replays).toEqual([
      new Map([
        [0, 7n],
        [3, 40n],
      ]),
    ]);
  });
});
