import { BATCH_JOB_NAME, NIGHTLY_SCHEDULER_ID } from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';
import type { ArchiveReader, BatchRunsRepository } from '@lambdarec/stores';
import { RUN_JOB_OPTIONS, type BatchJobData, type BatchQueue } from './jobs.js';

/**
 * Upserts the nightly job scheduler: restarting the service, or several replicas starting at
 * once, leave exactly one schedule with the current pattern.
 */
export async function upsertNightlySchedule({ queue, pattern, tz, log }: { queue: BatchQueue; pattern: string; tz: string; log: Logger }) {
  await queue.upsertJobScheduler(
    NIGHTLY_SCHEDULER_ID,
    { pattern, tz },
    { name: BATCH_JOB_NAME, data: { trigger: 'scheduler' } satisfies BatchJobData, opts: RUN_JOB_OPTIONS },
  );
  log.info({ pattern, tz, scheduler: NIGHTLY_SCHEDULER_ID }, 'nightly batch scheduled');
}

/**
 * Marks runs failed whose job is gone or finished without them: a process killed between
 * recording and queueing, a job removed in Bull Board, a lost queue, a run whose failure could not
 * be recorded. Runs younger than `graceMs` are left alone: POST /batch/runs records the run a moment
 * before it queues the job. A run failed here drops its frozen input first, as any failed run does.
 */
export async function reconcileRuns({
  queue,
  runs,
  inputs,
  log,
  graceMs = 30_000,
  now = Date.now,
}: {
  queue: BatchQueue;
  runs: BatchRunsRepository;
  /** Where a failed run's frozen input is dropped. @defaultValue kept until a later run succeeds */
  inputs?: Pick<ArchiveReader, 'dropInput'>;
  log: Logger;
  graceMs?: number;
  now?: () => number;
}) {
  for (const run of await runs.active()) {
    if (now() - run.createdAt.getTime() < graceMs) continue;
    const job = run.jobId === null ? undefined : await queue.getJob(run.jobId);
    const state = job === undefined ? 'missing' : await job.getState();
    if (state === 'missing' || state === 'completed' || state === 'failed' || state === 'unknown') {
      await inputs?.dropInput(run.runId);
      await runs.markFailed(run.runId, `interrupted: its job is ${state}`);
      log.warn({ runId: run.runId, jobState: state }, 'run marked failed: its job is gone');
    }
  }
}

/**
 * Reconciliation on a timer, not only at start-up: a run whose job was removed from the dashboard
 * is failed within one interval, and the next POST /batch/runs is accepted again.
 */
export function createRunReconciler({
  queue,
  runs,
  inputs,
  log,
  intervalMs = 60_000,
  graceMs,
}: {
  queue: BatchQueue;
  runs: BatchRunsRepository;
  inputs?: Pick<ArchiveReader, 'dropInput'>;
  log: Logger;
  /** @defaultValue 60000 */
  intervalMs?: number;
  graceMs?: number;
}) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const once = async () => {
    running ??= reconcileRuns({ queue, runs, log, inputs, graceMs })
      .catch((err: unknown) => log.warn({ err }, 'run reconciliation failed; trying again at the next interval'))
      .finally(() => (running = undefined));
    await running;
  };
  return {
    start() {
      timer = setInterval(() => void once(), intervalMs);
      timer.unref();
    },
    once,
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
