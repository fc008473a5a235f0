import { createMetricsRegistry } from '@lambdarec/metrics';
import { createBatchRunsRepository } from '@lambdarec/stores';
import { uniqueName, waitFor } from '@lambdarec/testing';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { buildBatchApp } from '../src/app.js';
import { createExperimentDependencies } from '../src/experiment-report.js';
import type { AnyBatchJobData } from '../src/jobs.js';
import { createRunReconciler, upsertNightlySchedule } from '../src/scheduler.js';
import { app, auth, credentials, log, pool, queue, redis, useBatchApp } from './batch-app.js';

useBatchApp();

describe('batch runs', () => {
  it('a job removed in Bull Board fails its run at the next reconciliation, and POST /batch/runs answers 202 again', async () => {
    // A queue nobody works on, so the job waits until the operator removes it.
    const idleQueue = new Queue<AnyBatchJobData>(uniqueName('idle-queue'), { connection: redis });
    const runs = createBatchRunsRepository({ pool });
    const idleApp = await buildBatchApp({
      log,
      registry: createMetricsRegistry('batch-test-idle'),
      checks: {},
      runs,
      queue: idleQueue,
      ...createExperimentDependencies({ pool, attributionHours: 24, log }),
      credentials,
    });
    const reconciler = createRunReconciler({ queue: idleQueue, runs, log, intervalMs: 100, graceMs: 0 });
    try {
      const started = await idleApp.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } });
      expect(started.statusCode).toBe(202);
      const { runId } = started.json() as { runId: string };
      expect((await idleApp.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } })).statusCode).toBe(409);
      const removed = await idleApp.inject({
        method: 'PUT',
        url: `/admin/queues/api/queues/${encodeURIComponent(idleQueue.name)}/${runId}/clean`,
        headers: { authorization: auth },
      });
      expect(removed.statusCode, removed.body).toBe(204);
      expect(await idleQueue.getJob(runId)).toBeUndefined();
      reconciler.start();
      const failed = await waitFor(
        async () => {
          const run = (await idleApp.inject({ url: `/batch/runs/${runId}`, headers: { authorization: auth } })).json();
          return run.status === 'failed' ? run : undefined;
        },
        { what: 'the run of the removed job to fail' },
      );
      expect(failed.stats.error).toMatch(/interrupted: its job is missing/);
      const again = await idleApp.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } });
      expect(again.statusCode).toBe(202);
      await runs.markFailed(again.json().runId, 'test over');
    } finally {
      await reconciler.close();
      await idleApp.close();
      await idleQueue.obliterate({ force: true }).catch(() => undefined);
      await idleQueue.close();
    }
  });

  it('upserts the nightly schedule instead of adding one per start', async () => {
    await upsertNightlySchedule({ queue, pattern: '0 2 * * *', tz: 'UTC', log });
    await upsertNightlySchedule({ queue, pattern: '30 3 * * *', tz: 'UTC', log });
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: 'nightly', pattern: '30 3 * * *' });
  });

  it('"Run now" on the nightly schedule in Bull Board starts and publishes a run, leaving the schedule as it was', async () => {
    await upsertNightlySchedule({ queue, pattern: '0 2 * * *', tz: 'UTC', log });
    const res = await app.inject({
      method: 'PUT',
      url: `/admin/queues/api/queues/${encodeURIComponent(queue.name)}/job-schedulers/nightly/run`,
      headers: { authorization: auth },
    });
    expect(res.statusCode, res.body).toBe(200);
    const run = await waitFor(
      async () => {
        const { runs } = (await app.inject({ url: '/batch/runs', headers: { authorization: auth } })).json() as {
          runs: Array<{ runId: string; trigger: string; status: string }>;
        };
        const scheduled = runs.find((r) => r.trigger === 'scheduler');
        return scheduled !== undefined && (scheduled.status === 'succeeded' || scheduled.status === 'failed') ? scheduled : undefined;
      },
      { what: 'the run started from Bull Board', timeoutMs: 30_000 },
    );
    expect(run.status).toBe('succeeded');
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: 'nightly', pattern: '0 2 * * *' });
  });
});
