import type { Logger } from '@lambdarec/clients';
import type { BatchPolicy } from '@lambdarec/domain';
import { loadRunRanker, type LoadedRunRanker, type RunHistoryReader } from '@lambdarec/stores';

export interface RunRankerCache {
  /**
   * The run's ranker once built. Until then undefined, and the first call starts building it
   * (once, off the request path: requests answer as before meanwhile). Undefined too for a run
   * that kept no histories (published before ADR 017).
   */
  current(runId: string): LoadedRunRanker | undefined;
  /** Builds the run's ranker if it is not built or building, and waits for it (warming at start, tests, benches). */
  ready(runId: string): Promise<LoadedRunRanker | undefined>;
}

interface Entry {
  runId: string;
  building: Promise<LoadedRunRanker | undefined>;
  built?: LoadedRunRanker | undefined;
  failedAt?: number;
}

/**
 * The published run's ranker (ADR 017), rebuilt from what the run kept when serving first needs it
 * after the run is published. One run at a time: the previous run's is let go when the next one's
 * build starts. A failed build (Postgres down) is tried again after `retryMs`.
 */
export function createRunRankerCache({
  reader,
  policy,
  log,
  retryMs = 30_000,
  now = Date.now,
}: {
  reader: RunHistoryReader;
  policy: BatchPolicy;
  log: Logger;
  retryMs?: number;
  now?: () => number;
}): RunRankerCache {
  let entry: Entry | undefined;

  function start(runId: string): Entry {
    const started: Entry = { runId, building: Promise.resolve(undefined) };
    started.building = loadRunRanker(reader, runId, policy).then(
      (ranker) => {
        started.built = ranker;
        if (ranker === undefined) log.info({ runId }, 'the published run kept no histories: purchases suppress as before, no re-rank');
        else
          log.info(
            { runId, customers: ranker.customers, indexMiB: Math.round(ranker.indexBytes / 2 ** 20), ms: ranker.ms },
            'ready to re-rank customers after a purchase',
          );
        return ranker;
      },
      (err: unknown) => {
        started.failedAt = now();
        log.warn({ err, runId, retryMs }, 'could not build the run ranker; answering without re-ranking after purchases');
        return undefined;
      },
    );
    return started;
  }

  function entryFor(runId: string): Entry {
    if (entry === undefined || entry.runId !== runId || (entry.failedAt !== undefined && now() - entry.failedAt >= retryMs)) {
      entry = start(runId);
    }
    return entry;
  }

  return {
    current: (runId) => entryFor(runId).built,
    ready: (runId) => entryFor(runId).building,
  };
}
