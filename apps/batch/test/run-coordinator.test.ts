import { BATCH_JOB_NAME } from '@lambdarec/contracts';
import { DEFAULT_BATCH_POLICY } from '@lambdarec/domain';
import { createArchiveReader, createBatchRunsRepository, createBatchViewWriter } from '@lambdarec/stores';
import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { BatchJobData, BatchJobResult } from '../src/jobs.js';
import { createRunCoordinator } from '../src/run-coordinator.js';
import { log, pool, queue, settings, useBatchApp, waitForRun } from './batch-app.js';

useBatchApp();

describe('batch runs', () => {
  const coordinatorFor = (runs: ReturnType<typeof createBatchRunsRepository>) =>
    createRunCoordinator({
      queue,
      runs,
      reader: createArchiveReader({ pool }),
      writer: createBatchViewWriter({ pool }),
      policy: DEFAULT_BATCH_POLICY,
      settings,
      log,
    });
  /** Stands in for a job only as far as a run that ends before its first step reads one. */
  const jobStub = (job: { id: string; data: BatchJobData }) => job as unknown as Job<BatchJobData, BatchJobResult>;

  it('a scheduler job processed again after a stall resumes its own run, and once done is skipped', async () => {
    const runs = createBatchRunsRepository({ pool });
    const jobId = `nightly-stalled-${Date.now()}`;
    // The first worker recorded the run and died mid-way: the run is still running.
    const stalledRunId = crypto.randomUUID();
    await runs.create({ runId: stalledRunId, trigger: 'scheduler', jobId });
    await runs.markRunning(stalledRunId);

    // BullMQ hands the same job (same id, data without a runId) to a worker again.
    await queue.add(BATCH_JOB_NAME, { trigger: 'scheduler' }, { jobId });
    expect(await waitForRun(stalledRunId)).toMatchObject({ status: 'succeeded', published: true });
    expect(await coordinatorFor(runs)(jobStub({ id: jobId, data: { trigger: 'scheduler' } }))).toMatchObject({
      runId: stalledRunId,
      skipped: true,
    });
    expect(await runs.active()).toEqual([]);
  });

  it('a run failed meanwhile is not revived by its job', async () => {
    const runs = createBatchRunsRepository({ pool });
    const runId = crypto.randomUUID();
    await runs.create({ runId, trigger: 'api', jobId: runId });
    await runs.markFailed(runId, 'could not be queued');
    await expect(coordinatorFor(runs)(jobStub({ id: runId, data: { runId, trigger: 'api' } }))).rejects.toThrow(
      /no longer queued or running/,
    );
    expect((await runs.get(runId))?.status).toBe('failed');
  });
});
