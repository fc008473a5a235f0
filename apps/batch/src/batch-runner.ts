import type { RunStats } from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';
import type { BatchPolicy } from '@lambdarec/domain';
import type { BatchRunsRepository } from '@lambdarec/stores';
import { UnrecoverableError } from 'bullmq';
import { computeModelInThread, type ComputeModel } from './compute-model.js';

export interface BatchRunner {
  /** Computes the model over the whole master dataset and publishes it; marks the run failed on error. */
  run(runId: string): Promise<RunStats>;
}

export interface BatchRunnerOptions {
  runs: BatchRunsRepository;
  policy: BatchPolicy;
  log: Logger;
  /** Published runs whose data is kept besides the current one (for rollback and comparison). @defaultValue 3 */
  keepRuns?: number;
  /** Where the model is computed. @defaultValue computeModelInThread */
  compute?: ComputeModel;
  now?: () => number;
}

export function createBatchRunner({ runs, policy, log, keepRuns = 3, compute = computeModelInThread, now = Date.now }: BatchRunnerOptions): BatchRunner {
  return {
    async run(runId) {
      const runLog = log.child({ runId });
      const started = now();
      try {
        if (!(await runs.markRunning(runId))) {
          // Failed by reconciliation or by a queueing error meanwhile: running it now would revive it.
          throw new UnrecoverableError(`run ${runId} is no longer queued or running`);
        }
        runLog.info('batch run started');
        const input = await runs.readInput();
        // Decay is anchored at the newest event read, not the wall clock, so a re-run over the same
        // events yields the same model; and never later than now, whatever the events claim.
        const asOf = input.watermark.maxEventTime === null ? started : Math.min(Date.parse(input.watermark.maxEventTime), started);
        const model = await compute(input.interactions, asOf, policy);
        const stats: RunStats = {
          eventsRead: input.eventsRead,
          users: model.stats.users,
          items: model.stats.items,
          similarityPairs: model.stats.similarityPairs,
          durationMs: now() - started,
        };
        await runs.publish(runId, model, stats, input.watermark);
        runLog.info({ stats, watermark: input.watermark }, 'batch run published');
        const pruned = await runs.prune(keepRuns).catch((err: unknown) => {
          runLog.warn({ err }, 'pruning old runs failed; they stay until the next run');
          return 0;
        });
        if (pruned > 0) runLog.info({ pruned }, 'old runs pruned');
        return stats;
      } catch (err) {
        if (err instanceof UnrecoverableError) throw err;
        runLog.error({ err }, 'batch run failed');
        // GET /batch/runs is public: the run says that it failed and where to look, the log says why.
        const reason = `${(err as Error).name ?? 'Error'}; see the batch service log for run ${runId}`;
        // If even this fails (Postgres down), the reconciler fails the run once its job is failed.
        await runs.markFailed(runId, reason).catch((markErr: unknown) =>
          runLog.error({ err: markErr }, 'could not mark the run failed; the reconciler will'),
        );
        throw err;
      }
    },
  };
}
