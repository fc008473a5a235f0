import { randomUUID } from 'node:crypto';
import { BATCH_JOB_NAME } from '@lambdarec/contracts';
import type { Logger, Redis } from '@lambdarec/clients';
import type { BatchRunsRepository } from '@lambdarec/stores';
import { Worker, type Job } from 'bullmq';
import type { BatchRunner } from './batch-runner.js';

/** Job data: runs created by the API carry their runId; scheduled ones get theirs when they start. */
export interface BatchJobData {
  runId?: string;
  trigger?: string;
}

export type BatchJobResult = { runId: string; skipped: false } | { runId: string; skipped: true; reason: string };

export interface BatchWorkerOptions {
  queueName: string;
  connection: Redis;
  runs: BatchRunsRepository;
  runner: BatchRunner;
  log: Logger;
}

/**
 * Processes one batch job. API jobs carry their runId; scheduler jobs (nightly, Bull Board's
 * "Run now") get one when first processed, recorded with their job id, so a job processed again
 * after a stall resumes its own run instead of colliding with it.
 */
export function createBatchJobProcessor({ runs, runner, log }: Pick<BatchWorkerOptions, 'runs' | 'runner' | 'log'>) {
  return async (job: Pick<Job<BatchJobData, BatchJobResult>, 'id' | 'data'>): Promise<BatchJobResult> => {
    let runId = job.data.runId;
    if (runId === undefined) {
      const previous = job.id === undefined ? undefined : await runs.findByJobId(job.id);
      if (previous !== undefined && previous.status !== 'queued' && previous.status !== 'running') {
        return { runId: previous.runId, skipped: true, reason: `its run already ${previous.status}` };
      }
      if (previous !== undefined) {
        runId = previous.runId;
        log.info({ jobId: job.id, runId }, 'resuming the run of a job processed again');
      } else {
        runId = randomUUID();
        const created = await runs.create({ runId, trigger: job.data.trigger ?? 'scheduler', jobId: job.id });
        if (!created.created) {
          log.warn({ jobId: job.id, activeRunId: created.activeRunId }, 'a batch run is already in progress; skipping this one');
          return { runId: created.activeRunId, skipped: true, reason: 'a run was already in progress' };
        }
      }
    }
    await runner.run(runId);
    return { runId, skipped: false };
  };
}

export function createBatchWorker({ queueName, connection, runs, runner, log }: BatchWorkerOptions) {
  let worker: Worker<BatchJobData, BatchJobResult> | undefined;
  const process = createBatchJobProcessor({ runs, runner, log });

  return {
    async start() {
      worker = new Worker<BatchJobData, BatchJobResult>(queueName, process, {
        connection,
        concurrency: 1,
        // A run can take minutes; a stalled (killed) worker's job is picked up again after this.
        lockDuration: 60_000,
        name: BATCH_JOB_NAME,
      });
      worker.on('failed', (job, err) => log.error({ jobId: job?.id, err }, 'batch job failed'));
      worker.on('error', (err) => log.error({ err }, 'batch worker error'));
      await worker.waitUntilReady();
    },
    async close() {
      await worker?.close();
    },
  };
}
