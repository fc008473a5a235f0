import { BATCH_JOB_NAME, NIGHTLY_SCHEDULER_ID } from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';
import type { BatchRunsRepository } from '@lambdarec/stores';
import type { Queue } from 'bullmq';
import type { BatchJobData } from './worker.js';

/**
 * Upserts the nightly job scheduler: restarting the service, or several replicas starting at
 * once, leave exactly one schedule with the current pattern.
 */
export async function upsertNightlySchedule({ queue, pattern, tz, log }: { queue: Queue<BatchJobData>; pattern: string; tz: string; log: Logger }) {
  await queue.upsertJobScheduler(
    NIGHTLY_SCHEDULER_ID,
    { pattern, tz },
    { name: BATCH_JOB_NAME, data: { trigger: 'scheduler' }, opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 } },
  );
  log.info({ pattern, tz, scheduler: NIGHTLY_SCHEDULER_ID }, 'nightly batch scheduled');
}

/** Marks runs failed whose job is gone (a process killed between recording and queueing, or a lost queue). */
export async function reconcileRuns({
  queue,
  runs,
  log,
}: {
  queue: Queue<BatchJobData>;
  runs: BatchRunsRepository;
  log: Logger;
}) {
  for (const run of await runs.active()) {
    const job = run.jobId === null ? undefined : await queue.getJob(run.jobId);
    const state = job === undefined ? 'missing' : await job.getState();
    if (state === 'missing' || state === 'completed' || state === 'failed' || state === 'unknown') {
      await runs.markFailed(run.runId, `interrupted: its job is ${state}`);
      log.warn({ runId: run.runId, jobState: state }, 'run marked failed: its job is gone');
    }
  }
}
