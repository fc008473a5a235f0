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
    const get = (runId: string) => cache.use(runId, async (value) => value);
    return { cache, builds, get };
  }

  it("builds a run's value once for all its shards, even when two ask at once", async () => {
    const { builds, get } = counted();
    const [first, second] = await Promise.all([get('r1'), get('r1')]);
    const third = await get('r1');
    expect(builds).toEqual(['r1']);
    expect(second).toBe(first);
    expect(third).toBe(first);
  });

  it("lets go of one run's value when another run's shard comes, and builds the first again if it returns", async () => {
    const { builds, get } = counted();
    const r1 = await get('r1');
    await get('r2');
    const again = await get('r1');
    expect(builds).toEqual(['r1', 'r2', 'r1']);
    expect(again).not.toBe(r1);
  });

  it('does not keep a failed build: the next shard builds again', async () => {
    let failing = true;
    const { builds, get } = counted(() => failing);
    await expect(get('r1')).rejects.toThrow('no inputs for r1');
    failing = false;
    await expect(get('r1')).resolves.toMatchObject({ runId: 'r1', build: 2 });
    expect(builds).toEqual(['r1', 'r1']);
  });

  it('lets go once no shard has used the value for the idle time', async () => {
    vi.useFakeTimers();
    const { builds, get } = counted();
    await get('r1');
    await vi.advanceTimersByTimeAsync(800);
    await get('r1');
    await vi.advanceTimersByTimeAsync(800);
    await get('r1');
    expect(builds).toEqual(['r1']);
    await vi.advanceTimersByTimeAsync(1_001);
    await get('r1');
    expect(builds).toEqual(['r1', 'r1']);
  });

  it('keeps the value while a shard that asked long ago still uses it, however long it works', async () => {
    vi.useFakeTimers();
    const { cache, builds, get } = counted();
    let finish = () => {};
    const long = cache.use('r1', (value) => new Promise<typeof value>((resolve) => (finish = () => resolve(value))));
    // A short shard beside it, then much longer than the idle time with the long one still working.
    await get('r1');
    await vi.advanceTimersByTimeAsync(5_000);
    const meanwhile = await get('r1');
    expect(builds).toEqual(['r1']);
    finish();
    expect(await long).toBe(meanwhile);
    // Once both are done, the idle time runs from then.
    await vi.advanceTimersByTimeAsync(1_001);
    await get('r1');
    expect(builds).toEqual(['r1', 'r1']);
  });
});
