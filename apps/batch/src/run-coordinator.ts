import { randomUUID } from 'node:crypto';
import type { ExperimentSummary, RunPhase, RunStats, Watermark } from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';
import { repurchaseTable, topPopular, topPopularByCategory, type BatchPolicy } from '@lambdarec/domain';
import type {
  ArchiveReader,
  BatchRunsRepository,
  BatchViewWriter,
  BotFlagHistory,
  BotFlagLedger,
  RunInputSummary,
} from '@lambdarec/stores';
import { UnrecoverableError, WaitingChildrenError, type Job } from 'bullmq';
import {
  addShardJobs,
  type BatchJobData,
  type BatchJobResult,
  type BatchQueue,
  type RunPlan,
  type RunStep,
  type ShardStage,
} from './jobs.js';

export interface RunSettings {
  /** Days of history before the newest event. */
  historyDays: number;
  /** Succeeded runs kept for rollback besides the published one. */
  keepRuns: number;
  maxPairsPerShard: number;
  maxUsersPerShard: number;
  minShards: number;
}

export interface RunCoordinatorOptions {
  queue: BatchQueue;
  runs: BatchRunsRepository;
  reader: ArchiveReader;
  writer: BatchViewWriter;
  policy: BatchPolicy;
  settings: RunSettings;
  /**
   * The bot guard's flags: each run copies the speed layer's ledger (Redis keeps a few days) into
   * the history in Postgres, which the freeze joins, so the flagged bursts' events stay out of the
   * model. @defaultValue none
   */
  botFlags?: { ledger: Pick<BotFlagLedger, 'flagsSince'>; history: BotFlagHistory };
  /**
   * The running experiment's summary, which a succeeded run's stats carry beside the daily report.
   * @defaultValue none: runs carry no experiment
   */
  experimentSummary?: () => Promise<ExperimentSummary | undefined>;
  log: Logger;
  now?: () => number;
}

/** The plan as the job data carries it: what the frozen input held, for the run's stats. */
interface StoredPlan extends RunPlan {
  /** Optional parts: plans stored by an older version lack them. */
  input: Omit<RunInputSummary, 'watermark' | 'eventsByType'> & Partial<Pick<RunInputSummary, 'eventsByType'>>;
  watermark: Watermark;
}

/**
 * A stage is cut into enough shards for its bound, rounded up to a multiple of `minShards` (so
 * that as many workers get equal shares: 3 shards on 2 workers take two rounds, 4 take two
 * rounds of shorter shards), never more shards than it has items.
 */
export function shardCount(load: number, perShard: number, items: number, minShards: number): number {
  const needed = Math.ceil(Math.max(1, Math.ceil(load / perShard)) / minShards) * minShards;
  return Math.max(1, Math.min(needed, items, 4096));
}

const PHASE_OF: Record<RunStep, RunPhase> = {
  'freeze-input': 'freezing-input',
  'user-lists': 'user-lists',
  'similar-items': 'similar-items',
  'user-items': 'user-items',
  publish: 'publishing',
};

/**
 * The coordinator job of a run, written as BullMQ step job: it records the next step in its job
 * data, adds the step's shards as children and waits for them (WaitingChildrenError); BullMQ
 * processes it again when they are done, in whichever process, and it goes on from that step.
 *
 * Runs created by the API carry their runId; scheduled ones (nightly, Bull Board's "Run now") get
 * one when first processed, recorded with their job id, so a job processed again after a stall
 * resumes its own run instead of colliding with it. A run failed meanwhile is never revived.
 */
export function createRunCoordinator({
  queue,
  runs,
  reader,
  writer,
  policy,
  settings,
  botFlags,
  experimentSummary,
  log,
  now = Date.now,
}: RunCoordinatorOptions) {
  async function resolveRun(job: Pick<Job<BatchJobData>, 'id' | 'data'>): Promise<{ runId: string } | BatchJobResult> {
    if (job.data.runId !== undefined) return { runId: job.data.runId };
    const previous = job.id === undefined ? undefined : await runs.findByJobId(job.id);
    if (previous !== undefined && previous.status !== 'queued' && previous.status !== 'running') {
      return { runId: previous.runId, skipped: true, reason: `its run already ${previous.status}` };
    }
    if (previous !== undefined) {
      log.info({ jobId: job.id, runId: previous.runId }, 'resuming the run of a job processed again');
      return { runId: previous.runId };
    }
    const runId = randomUUID();
    const created = await runs.create({ runId, trigger: job.data.trigger ?? 'scheduler', jobId: job.id });
    if (!created.created) {
      log.warn({ jobId: job.id, activeRunId: created.activeRunId }, 'a batch run is already in progress; skipping this one');
      return { runId: created.activeRunId, skipped: true, reason: 'a run was already in progress' };
    }
    return { runId };
  }

  return async (job: Job<BatchJobData, BatchJobResult>, token?: string): Promise<BatchJobResult> => {
    const resolved = await resolveRun(job);
    if ('skipped' in resolved) return resolved;
    const { runId } = resolved;
    const runLog = log.child({ runId });
    let data: BatchJobData = { ...job.data, runId };

    const enter = async (step: RunStep, plan: StoredPlan, shardsTotal: number) => {
      plan.stepStartedAt[step] ??= now();
      data = { ...data, step, plan };
      // Recorded before the step's shards are added: a coordinator killed in between finds its
      // step and adds them again (same job ids, so no duplicates).
      await job.updateData(data);
      await runs.setProgress(runId, { phase: PHASE_OF[step], shardsTotal }, { phaseMs: phaseTimes(plan, now()) });
      await job.updateProgress({ phase: PHASE_OF[step], shardsDone: 0, shardsTotal });
    };

    /** Adds a stage's shards and waits for them; false when they are all done already. */
    const awaitShards = async (stage: ShardStage, shards: number, plan: StoredPlan) => {
      await addShardJobs(queue, job, { runId, stage, shards, asOf: plan.asOf, inputRows: plan.input.rows, users: plan.input.users });
      if (await job.moveToWaitingChildren(token!)) return true;
      const done = (await writer.shardsDone(runId))[stage];
      // Children that vanished (removed from the dashboard) leave a stage short: never publish that.
      // Covered, not counted: a similar-items shard over its pair limit finishes as two halves.
      if (!done.covered) throw new UnrecoverableError(`${stage}: the ${done.shards} finished shards do not cover the ${shards} planned`);
      return false;
    };

    try {
      let step: RunStep = data.step ?? 'freeze-input';
      let plan = data.plan as StoredPlan | undefined;
      for (;;) {
        if (step === 'freeze-input') {
          if (!(await runs.markRunning(runId))) {
            // Failed by reconciliation or by a queueing error meanwhile: running it now would revive it.
            throw new UnrecoverableError(`run ${runId} is no longer queued or running`);
          }
          runLog.info('batch run started');
          const startedAt = now();
          await runs.setProgress(runId, { phase: 'freezing-input', shardsTotal: 0 });
          // Flags that ended within the horizon, counted back from now, go from the ledger to
          // Postgres, which keeps them after Redis has let them go; older ones are forgotten.
          const horizonStart = startedAt - settings.historyDays * 24 * 60 * 60 * 1000;
          if (botFlags !== undefined) {
            const recorded = await botFlags.history.record(botFlags.ledger.flagsSince(horizonStart));
            const forgotten = await botFlags.history.prune(horizonStart);
            runLog.info({ recorded, forgotten }, 'bot flags copied from the ledger');
          }
          const { watermark, ...input } = await reader.freezeInput(runId, {
            historyDays: settings.historyDays,
            maxItemsPerUser: policy.maxItemsPerUser,
            now: startedAt,
          });
          // Decay is anchored at the newest event read, not the wall clock, so a re-run over the
          // same events yields the same model; and never later than now, whatever the events claim.
          const asOf = watermark.maxEventTime === null ? startedAt : Math.min(Date.parse(watermark.maxEventTime), startedAt);
          plan = {
            asOf,
            similarShards: shardCount(input.pairBound, settings.maxPairsPerShard, input.products, settings.minShards),
            userShards: shardCount(input.users, settings.maxUsersPerShard, input.users, settings.minShards),
            startedAt,
            stepStartedAt: { 'freeze-input': startedAt },
            input,
            watermark,
          };
          runLog.info({ input, similarShards: plan.similarShards, userShards: plan.userShards }, 'batch input frozen');
          step = 'user-lists';
          await enter(step, plan, 1);
        } else if (step === 'user-lists') {
          // One pass, not sharded: product facts add up in user order, exactly as in one process.
          if (await awaitShards('user-lists', 1, plan!)) throw new WaitingChildrenError();
          step = 'similar-items';
          await enter(step, plan!, plan!.similarShards);
        } else if (step === 'similar-items') {
          if (await awaitShards('similar-items', plan!.similarShards, plan!)) throw new WaitingChildrenError();
          step = 'user-items';
          await enter(step, plan!, plan!.userShards);
        } else if (step === 'user-items') {
          if (await awaitShards('user-items', plan!.userShards, plan!)) throw new WaitingChildrenError();
          step = 'publish';
          await enter(step, plan!, 0);
        } else {
          // Killed after publishing, before the job completed: the run is out; nothing to redo.
          if ((await runs.status(runId)) === 'succeeded') return { runId, skipped: false };
          return await publish(runId, plan!, runLog);
        }
      }
    } catch (err) {
      if (err instanceof WaitingChildrenError) throw err;
      runLog.error({ err }, 'batch run failed');
      // GET /batch/runs is public: the run says that it failed and where to look, the log says why.
      const reason = `${(err as Error).name ?? 'Error'}; see the batch service log for run ${runId}`;
      // The input goes first, so whoever sees the run failed finds it clean; if that fails
      // (Postgres down), the next run's success drops it.
      await reader
        .dropInput(runId)
        .catch((dropErr: unknown) => runLog.error({ err: dropErr }, "could not drop the failed run's input; the next run's success will"));
      // If even this fails (Postgres down), the reconciler fails the run once its job is failed.
      await runs
        .markFailed(runId, reason)
        .catch((markErr: unknown) => runLog.error({ err: markErr }, 'could not mark the run failed; the reconciler will'));
      throw err;
    }
  };

  async function publish(runId: string, plan: StoredPlan, runLog: Logger): Promise<BatchJobResult> {
    const [facts, done] = await Promise.all([writer.productFactsOf(runId), writer.shardsDone(runId)]);
    if (!done['similar-items'].covered || !done['user-items'].covered)
      throw new UnrecoverableError(`run ${runId} is missing shards; not publishing it`);
    // The shards that wrote the run: more similar-items shards than planned when some were split.
    const shards = { similarItems: done['similar-items'].shards, userItems: done['user-items'].shards };
    // Part of the report, not of the model: a run whose experiment figures cannot be read still publishes.
    const experiment = await experimentSummary?.().catch((err: unknown) => {
      runLog.warn({ err }, "could not read the running experiment's report; the run's stats go without it");
      return undefined;
    });
    const finished = now();
    const stats: RunStats = {
      eventsRead: plan.input.eventsRead,
      users: plan.input.users,
      items: plan.input.products,
      // Each shard counts a pair once for each of its products it owns: every pair twice in all.
      similarityPairs: done['similar-items'].pairs / 2,
      durationMs: finished - plan.startedAt,
      phaseMs: phaseTimes(plan, finished),
      shards,
      historyDays: settings.historyDays,
      // Plans frozen before the report existed (a job in flight across an upgrade) have none.
      eventsByType: plan.input.eventsByType,
      botEventsExcluded: plan.input.botEventsExcluded,
      botUserDaysExcluded: plan.input.botUserDaysExcluded,
      report: plan.input.report,
      ...(experiment === undefined ? {} : { experiment }),
    };
    await runs.publish(runId, {
      stats,
      watermark: plan.watermark,
      popular: topPopular(facts, policy),
      popularByCategory: topPopularByCategory(facts, policy),
      repurchase: repurchaseTable(facts),
      shards,
    });
    runLog.info({ stats, watermark: plan.watermark }, 'batch run published');
    const pruned = await runs.prune(settings.keepRuns).catch((err: unknown) => {
      runLog.warn({ err }, 'pruning old runs failed; they stay until the next run');
      return 0;
    });
    if (pruned > 0) runLog.info({ pruned }, 'old runs pruned');
    // The job's return value: Bull Board shows the run's stats, daily report included, on the job.
    return { runId, skipped: false, stats };
  }
}

/** Each finished step's wall time, from the step start times the plan recorded. */
function phaseTimes(plan: RunPlan, at: number): Record<string, number> {
  const order: RunStep[] = ['freeze-input', 'user-lists', 'similar-items', 'user-items', 'publish'];
  const times: Record<string, number> = {};
  for (let i = 0; i < order.length; i++) {
    const start = plan.stepStartedAt[order[i]!];
    if (start === undefined) continue;
    const end = plan.stepStartedAt[order[i + 1]!] ?? at;
    times[order[i]!] = end - start;
  }
  return times;
}
