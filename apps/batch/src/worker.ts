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

export function createBatchWorker({ queueName, connection, runs, runner, log }: BatchWorkerOptions) {
  let worker: Worker<BatchJobData, BatchJobResult> | undefined;

  async function process(job: Job<BatchJobData, BatchJobResult>): Promise<BatchJobResult> {
    let runId = job.data.runId;
    if (runId === undefined) {
      runId = randomUUID();
      const created = await runs.create({ runId, trigger: job.data.trigger ?? 'scheduler', jobId: job.id });
      if (!created.created) {
        log.warn({ jobId: job.id, activeRunId: created.activeRunId }, 'a batch run is already in progress; skipping this one');
        return { runId: created.activeRunId, skipped: true, reason: 'a run was already in progress' };
      }
    }
    await runner.run(runId);
    return { runId, skipped: false };
  }

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
