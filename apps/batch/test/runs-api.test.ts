import { createBatchRunsRepository, createBatchViewReader } from '@lambdarec/stores';
import { buildClickEvent, waitFor } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import type { BatchJobResult } from '../src/jobs.js';
import { app, archivedCount, auth, pool, producer, queue, topic, useBatchApp, waitForRun } from './batch-app.js';

useBatchApp();

describe('batch runs', () => {
  it('runs on POST /batch/runs, publishes a new run with stats and a watermark', async () => {
    const t = Date.now() - 60_000;
    const history = [
      ['br-1', 'milk'],
      ['br-1', 'bread'],
      ['br-2', 'milk'],
      ['br-2', 'bread'],
      ['br-3', 'milk'],
    ].map(([userId, productId], i) => buildClickEvent({ userId, productId, category: 'food', timestamp: new Date(t + i).toISOString() }));
    await producer.send({ topic: topic.topic, acks: -1, messages: history.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    await waitFor(async () => ((await archivedCount('br-')) === history.length ? true : undefined), { what: 'history archived' });

    const res = await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } });
    expect(res.statusCode).toBe(202);
    const { runId } = res.json();
    const run = await waitForRun(runId);
    expect(run).toMatchObject({ runId, status: 'succeeded', published: true, trigger: 'api' });
    expect(run.stats.eventsRead).toBeGreaterThanOrEqual(history.length);
    expect(run.stats.users).toBeGreaterThanOrEqual(3);
    expect(run.watermark.maxEventTime).not.toBeNull();
    expect(Object.keys(run.watermark.offsets[topic.topic])).not.toHaveLength(0);
    // The daily report: the day of the newest event, here the history's (other tests' events are older or the same day).
    expect(run.stats.report).toMatchObject({ day: run.watermark.maxEventTime.slice(0, 10) });
    expect(run.stats.report.topCategories.map((c: { category: string }) => c.category)).toContain('food');
    expect(run.stats.eventsByType.view).toBeGreaterThanOrEqual(history.length);
    // Bull Board shows a job's return value: the coordinator returns the run's stats, report included.
    const returned = await waitFor(async () => ((await queue.getJob(runId))?.returnvalue as BatchJobResult | undefined) ?? undefined, {
      what: 'the run job to complete',
    });
    expect(returned).toMatchObject({ runId, skipped: false, stats: { report: run.stats.report } });

    const view = createBatchViewReader({ pool });
    expect((await view.publishedRun())?.runId).toBe(runId);
    // br-3 bought milk only; others who had milk also had bread.
    const items = await view.userItems(runId, 'br-3');
    expect(items[0]).toMatchObject({ productId: 'bread', reasons: ['batch:similar-to:milk'] });

    const list = (await app.inject({ url: '/batch/runs', headers: { authorization: auth } })).json();
    expect(list.runs[0].runId).toBe(runId);
  });

  it('answers 409 with the active runId while a run is queued or running', async () => {
    const runs = createBatchRunsRepository({ pool });
    const blocker = crypto.randomUUID();
    await runs.create({ runId: blocker, trigger: 'test' });
    try {
      const res = await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ runId: blocker, code: 'LREC_RUN_IN_PROGRESS' });
    } finally {
      await runs.markFailed(blocker, 'test over');
    }
  });

  it('of simultaneous POST /batch/runs, exactly one starts a run and the others name it', async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } })),
    );
    const started = answers.filter((a) => a.statusCode === 202);
    const refused = answers.filter((a) => a.statusCode === 409);
    expect(started).toHaveLength(1);
    expect(refused).toHaveLength(4);
    const { runId } = started[0]!.json();
    for (const answer of refused) expect(answer.json().runId).toBe(runId);
    expect((await waitForRun(runId)).status).toBe('succeeded');
  });

  it('answers 404 for an unknown run and 400 for a malformed runId', async () => {
    expect((await app.inject({ url: `/batch/runs/${crypto.randomUUID()}`, headers: { authorization: auth } })).statusCode).toBe(404);
    expect((await app.inject({ url: '/batch/runs/not-a-uuid', headers: { authorization: auth } })).statusCode).toBe(400);
  });
});

describe('operations', () => {
  it('documents its API in OpenAPI and reports readiness', async () => {
    const res = await app.inject('/docs/json');
    expect(res.statusCode, res.body).toBe(200);
    expect(Object.keys(res.json().paths)).toEqual(expect.arrayContaining(['/batch/runs', '/batch/runs/{runId}']));
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });
});
