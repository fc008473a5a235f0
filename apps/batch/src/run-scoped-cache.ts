/**
 * One value per run, built at most once per process while shards of that run keep coming. It is
 * let go when a shard of another run asks, or `idleMs` after the last shard using it is done;
 * never while a shard uses it or it is being built.
 *
 * Why: a worker that takes several user-items shards of one run used to load the run's similar
 * lists and every customer's re-buy vector for each shard, and the second copy was built before
 * the collector had freed the first: at 1M events, one worker and two shards, the process's peak
 * RSS went from 494 MiB after the first shard to 786 MiB after the second. A run's inputs never
 * change once its earlier stages are done, so each process keeps one run's, never two.
 */
export interface RunScopedCache<T> {
  /** `work` with the run's value; the value is kept for the run's next shard once `work` settles. */
  use<R>(runId: string, work: (value: T) => Promise<R>): Promise<R>;
}

interface Entry<T> {
  runId: string;
  value: Promise<T>;
  users: number;
  timer?: NodeJS.Timeout;
}

export function createRunScopedCache<T>(build: (runId: string) => Promise<T>, { idleMs }: { idleMs: number }): RunScopedCache<T> {
  let held: Entry<T> | undefined;

  const forget = (entry: Entry<T>) => {
    clearTimeout(entry.timer);
    if (held === entry) held = undefined;
  };

  const acquire = (runId: string): Entry<T> => {
    if (held?.runId === runId) {
      clearTimeout(held.timer);
      held.users++;
      return held;
    }
    // Another run's value is let go first: its shards still running keep their own reference,
    // but this cache holds one run's at a time.
    if (held !== undefined) forget(held);
    const entry: Entry<T> = { runId, value: build(runId), users: 1 };
    held = entry;
    // A failed build is not kept: the shard's retry builds again.
    entry.value.catch(() => forget(entry));
    return entry;
  };

  const releaseEntry = (entry: Entry<T>) => {
    entry.users--;
    if (entry.users > 0 || held !== entry) return;
    // unref: a value kept for the next shard must not keep a closing process alive.
    entry.timer = setTimeout(() => forget(entry), idleMs).unref();
  };

  return {
    async use(runId, work) {
      const entry = acquire(runId);
      try {
        return await work(await entry.value);
      } finally {
        releaseEntry(entry);
      }
    },
  };
}
