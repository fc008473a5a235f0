import { DEFAULT_BATCH_POLICY, type UserHistory } from '@lambdarec/domain';
import type { RunHistoryReader, RunRankingSnapshot } from '@lambdarec/stores';
import { testLogger } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { createRunRankerCache } from './run-ranker-cache.js';

const log = testLogger('run-ranker-cache-test');

/** A run that kept one customer's history, as the stores would read it; `fail` makes every read throw. */
function reader(state: { fail: boolean; snapshots: number }): RunHistoryReader {
  const snapshot: RunRankingSnapshot = {
    asOf: 1_000,
    facts: [{ productId: 'tea', category: 'drinks', popularity: 1, buyers: 1, rebuyers: 0, rebuyIntervalDays: null }],
    similar: new Map(),
    blend: undefined,
  };
  return {
    async rankingSnapshot(runId) {
      state.snapshots++;
      if (state.fail) throw new Error('Postgres is down');
      return runId === 'kept-nothing' ? undefined : snapshot;
    },
    async *histories(): AsyncGenerator<UserHistory> {
      yield { userId: 'u1', rows: [{ userId: 'u1', productId: 'tea', type: 'purchase', count: 1, lastAt: 900, category: 'drinks' }] };
    },
    userHistory: async () => [],
  };
}

describe('createRunRankerCache', () => {
  it('builds a run once, however many requests ask meanwhile, and answers nothing until it is built', async () => {
    const state = { fail: false, snapshots: 0 };
    const cache = createRunRankerCache({ reader: reader(state), policy: DEFAULT_BATCH_POLICY, log });
    expect(cache.current('r1')).toBeUndefined();
    expect(cache.current('r1')).toBeUndefined();
    const ranker = await cache.ready('r1');
    expect(ranker).toMatchObject({ asOf: 1_000, customers: 1 });
    expect(cache.current('r1')).toBe(ranker);
    expect(state.snapshots).toBe(1);
    // The user's own history at the run's time gives the tea they bought back.
    expect(
      ranker!.rank('u1', [{ userId: 'u1', productId: 'tea', type: 'purchase', count: 1, lastAt: 900, category: 'drinks' }], 1_000)[0],
    ).toMatchObject({ productId: 'tea', reasons: ['batch:bought-before'] });
  });

  it('lets the previous run go when a new one is asked for', async () => {
    const state = { fail: false, snapshots: 0 };
    const cache = createRunRankerCache({ reader: reader(state), policy: DEFAULT_BATCH_POLICY, log });
    await cache.ready('r1');
    expect(cache.current('r2')).toBeUndefined();
    await cache.ready('r2');
    expect(state.snapshots).toBe(2);
    expect(await cache.ready('kept-nothing')).toBeUndefined();
  });

  it('tries a failed build again only after retryMs', async () => {
    const state = { fail: true, snapshots: 0 };
    let clock = 0;
    const cache = createRunRankerCache({ reader: reader(state), policy: DEFAULT_BATCH_POLICY, log, retryMs: 30_000, now: () => clock });
    expect(await cache.ready('r1')).toBeUndefined();
    state.fail = false;
    clock = 29_999;
    expect(await cache.ready('r1')).toBeUndefined();
    expect(state.snapshots).toBe(1);
    clock = 30_000;
    expect(await cache.ready('r1')).toMatchObject({ customers: 1 });
    expect(state.snapshots).toBe(2);
  });
});
