import { createPoller } from './poller.js';
import type { Logger } from '@lambdarec/clients';
import type { Candidate, CatalogFacts } from '@lambdarec/domain';
import type { BatchViewReader, CatalogRepository, PublishedRun } from '@lambdarec/stores';

export interface CachedBatchView {
  run: PublishedRun;
  /** The run's popular items with the catalog facts they had when cached: the fallback when Postgres is down. */
  popular: Candidate[];
  popularFacts: Map<string, CatalogFacts>;
  /** category → the run's most popular products in it (cold starts in a category). */
  popularByCategory: Map<string, Candidate[]>;
}

export interface BatchViewCache {
  /** The last published run seen, or undefined before the first run was published. */
  current(): CachedBatchView | undefined;
  /** False while Postgres cannot be read (the last refresh failed). */
  reachable(): boolean;
  /** Checks for a newly published run now (also called on a timer). */
  refresh(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Keeps the published run's id and popular list in memory, checking for a new run every
 * `refreshMs`. Requests then need Postgres only for per-user rows, and keep answering from memory
 * when Postgres is down.
 */
export function createBatchViewCache({
  batchView,
  catalog,
  refreshMs,
  log,
}: {
  batchView: BatchViewReader;
  catalog: CatalogRepository;
  refreshMs: number;
  log: Logger;
}): BatchViewCache {
  let cached: CachedBatchView | undefined;

  async function refresh() {
    const run = await batchView.publishedRun();
    if (run === undefined) return;
    // Only a later publication replaces the run (a rollback publishes an older run anew, later):
    // a standby behind the primary, asked after the primary answered, still shows the one before.
    if (cached !== undefined && !(run.runId !== cached.run.runId && Date.parse(run.publishedAt) > Date.parse(cached.run.publishedAt))) {
      // Stock changes during the day: refresh the facts of the popular list too.
      cached = { ...cached, popularFacts: await catalog.facts(cached.popular.map((c) => c.productId)) };
      return;
    }
    const [popular, popularByCategory] = await Promise.all([batchView.popularItems(run.runId), batchView.categoryPopular(run.runId)]);
    const popularFacts = await catalog.facts(popular.map((c) => c.productId));
    cached = { run, popular, popularFacts, popularByCategory };
    log.info({ runId: run.runId, publishedAt: run.publishedAt }, 'serving batch run');
  }

  const poller = createPoller(refresh, {
    refreshMs,
    log,
    failed: 'batch view refresh failed; serving the cached view',
    recovered: 'batch view refresh recovered',
  });

  return {
    current: () => cached,
    reachable: () => !poller.failing,
    refresh,
    start: () => poller.start('no batch view yet: Postgres cannot be read'),
    async close() {
      poller.stop();
    },
  };
}
