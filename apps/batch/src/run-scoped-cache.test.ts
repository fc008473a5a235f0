import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRunScopedCache } from './run-scoped-cache.js';

describe('createRunScopedCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A cache whose builds are counted and whose values say which build made them. */
  function counted(fail: (runId: string) => boolean = () => false) {
    const builds: string[] = [];
    const cache = createRunScopedCache(
      async (runId) => {
        builds.push(runId);
        if (fail(runId)) throw new Error(`no inputs for ${runId}`);
        return { runId, build: builds.length };
      },
      { idleMs: 1_000 },
    );
    return { cache, builds };
  }

  it("builds a run's value once for all its shards, even when two ask at once", async () => {
    const { cache, builds } = counted();
    const [first, second] = await Promise.all([cache.get('r1'), cache.get('r1')]);
    const third = await cache.get('r1');
    expect(builds).toEqual(['r1']);
    expect(second).toBe(first);
    expect(third).toBe(first);
  });

  it("lets go of one run's value when another run's shard comes, and builds the first again if it returns", async () => {
    const { cache, builds } = counted();
    const r1 = await cache.get('r1');
    await cache.get('r2');
    const again = await cache.get('r1');
    expect(builds).toEqual(['r1', 'r2', 'r1']);
    expect(again).not.toBe(r1);
  });

  it('does not keep a failed build: the next shard builds again', async () => {
    let failing = true;
    const { cache, builds } = counted(() => failing);
    await expect(cache.get('r1')).rejects.toThrow('no inputs for r1');
    failing = false;
    await expect(cache.get('r1')).resolves.toMatchObject({ runId: 'r1', build: 2 });
    expect(builds).toEqual(['r1', 'r1']);
  });

  it('lets go after the idle time since the last shard asked, not since the build', async () => {
    vi.useFakeTimers();
    const { cache, builds } = counted();
    await cache.get('r1');
    await vi.advanceTimersByTimeAsync(800);
    await cache.get('r1');
    await vi.advanceTimersByTimeAsync(800);
    await cache.get('r1');
    expect(builds).toEqual(['r1']);
    await vi.advanceTimersByTimeAsync(1_001);
    await cache.get('r1');
    expect(builds).toEqual(['r1', 'r1']);
  });
});
