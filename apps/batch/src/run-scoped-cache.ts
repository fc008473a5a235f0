/**
 * One value per run, built at most once per process while shards of that run keep coming, and let
 * go when a shard of another run arrives or when none has asked for `idleMs`.
 *
 * Why: a worker that takes several user-items shards of one run used to load the run's similar
 * lists and every customer's re-buy vector for each shard, and the second copy was built before
 * the collector had freed the first: at 1M events, one worker and two shards, the process's peak
 * RSS went from 494 MiB after the first shard to 786 MiB after the second. A run's inputs never
 * change once its earlier stages are done, so each process keeps one run's, never two.
 */
export interface RunScopedCache<T> {
  get(runId: string): Promise<T>;
}

export function createRunScopedCache<T>(build: (runId: string) => Promise<T>, { idleMs }: { idleMs: number }): RunScopedCache<T> {
  let held: { runId: string; value: Promise<T>; timer?: NodeJS.Timeout } | undefined;

  const release = () => {
    if (held !== undefined) clearTimeout(held.timer);
    held = undefined;
  };
  const releaseLater = (entry: NonNullable<typeof held>) => {
    clearTimeout(entry.timer);
    // unref: a value kept for the next shard must not keep a closing process alive.
    entry.timer = setTimeout(() => {
      if (held === entry) held = undefined;
    }, idleMs).unref();
  };

  return {
    get(runId) {
      if (held?.runId === runId) {
        releaseLater(held);
        return held.value;
      }
      // Another run's value goes first, so that the two are never held at once by this cache.
      release();
      const entry: NonNullable<typeof held> = { runId, value: build(runId) };
      held = entry;
      releaseLater(entry);
      // A failed build is not kept: the shard's retry builds again.
      entry.value.catch(() => {
        if (held === entry) release();
      });
      return entry.value;
    },
  };
}
