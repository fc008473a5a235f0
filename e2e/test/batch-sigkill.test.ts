import { createPgPool, type PgPool } from '@lambdarec/clients';
import type { BatchRun } from '@lambdarec/contracts';
import { createBatchViewReader, createEventArchive, runMigrations } from '@lambdarec/stores';
import {
  asPartitionBatches,
  createTestDatabase,
  createTestTopic,
  retailHistory,
  testLogger,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startService, type RunningService } from './harness.js';

// Two batch processes share a run's shards; one is killed with SIGKILL in the middle of a run.
// Serving's view must not move until a whole run is published, the run must be finished by the
// survivor (its jobs' locks expire and are taken again) or failed cleanly, and the next run works.
const log = testLogger('batch-sigkill-e2e');
const password = 'sigkill-dashboard';
const auth = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
const services: RunningService[] = [];

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 2 });
  db = await createTestDatabase(databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'batch-sigkill-e2e' });
  // Big enough that a run takes a few seconds across its shards on two processes.
  const archive = createEventArchive({ pool });
  for (const batch of asPartitionBatches(retailHistory({ events: 120_000, users: 12_000, products: 1_500, seed: 3 }), {
    topic: 'sigkill.events',
  })) {
    await archive.append(batch);
  }
}, 120_000);

afterAll(async () => {
  for (const service of services) await service.stop().catch(() => undefined);
  await pool?.end();
  await db?.drop();
  await topic?.remove();
});

const runOf = async (service: RunningService, runId: string): Promise<BatchRun> =>
  (await (await fetch(`${service.url}/batch/runs/${runId}`, { headers: { authorization: auth } })).json()) as BatchRun;
const startRun = async (service: RunningService) => {
  const res = await fetch(`${service.url}/batch/runs`, { method: 'POST', headers: { authorization: auth } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
};
const finished = (service: RunningService, runId: string, timeoutMs = 90_000) =>
  waitFor(
    async () => {
      const run = await runOf(service, runId);
      return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
    },
    { what: `run ${runId} to finish`, timeoutMs, intervalMs: 200 },
  );

describe('SIGKILL of a batch worker mid-run', () => {
  it('leaves the served run unchanged until a whole run is published; the run is resumed by the other worker; the next run succeeds', async () => {
    const { kafkaBrokers, redisUrl } = inject('infra');
    const env = {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      DATABASE_URL: db.url,
      EVENTS_TOPIC: topic.topic,
      ARCHIVE_GROUP_ID: uniqueName('sigkill-archive'),
      BATCH_QUEUE: uniqueName('sigkill-batch'),
      DASHBOARD_PASSWORD: password,
      // Many small shards, and a short lock: the survivor takes a dead worker's shard within seconds.
      BATCH_MIN_SHARDS: '8',
      BATCH_JOB_LOCK_MS: '3000',
    };
    const victim = await startService('batch', env);
    const survivor = await startService('batch', env);
    services.push(victim, survivor);
    const view = createBatchViewReader({ pool });

    const first = await finished(victim, await startRun(victim));
    expect(first.status).toBe('succeeded');
    expect((await view.publishedRun())?.runId).toBe(first.runId);

    const second = await startRun(victim);
    await waitFor(
      async () => {
        const run = await runOf(victim, second);
        return run.progress?.phase === 'similar-items' || run.progress?.phase === 'user-items' ? run : undefined;
      },
      { what: 'the second run to reach its shards', timeoutMs: 60_000, intervalMs: 50 },
    );
    victim.process.kill('SIGKILL');
    await victim.stop();

    // Until the run is published, serving's view stays on the first run.
    const during = await waitFor(
      async () => {
        const run = await runOf(survivor, second);
        expect((await view.publishedRun())?.runId).toBe(run.status === 'succeeded' ? second : first.runId);
        return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
      },
      { what: 'the interrupted run to finish', timeoutMs: 90_000, intervalMs: 100 },
    );
    expect(during.status, JSON.stringify(during.stats)).toBe('succeeded');
    expect((await view.publishedRun())?.runId).toBe(second);
    // Every user's list was written exactly once, by whichever process finished its shard.
    const { rows } = await pool.query<{ users: number; shards: number }>(
      `SELECT (SELECT count(*)::int FROM rec_user_items WHERE run_id = $1) AS users,
              (SELECT count(*)::int FROM batch_run_shards WHERE run_id = $1) AS shards`,
      [second],
    );
    expect(rows[0]!.users).toBe(first.stats.users);
    expect(rows[0]!.shards).toBe(1 + during.stats.shards!.similarItems + during.stats.shards!.userItems);

    const third = await finished(survivor, await startRun(survivor));
    expect(third.status).toBe('succeeded');
    expect((await view.publishedRun())?.runId).toBe(third.runId);

    // Rollback to the interrupted-then-finished run: serving answers from it, and says so.
    const serving = await startService('serving', {
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `${uniqueName('sigkill-serving')}:`,
      BATCH_VIEW_REFRESH_MS: '200',
    });
    services.push(serving);
    const servedRun = async () =>
      ((await (await fetch(`${serving.url}/recommendations/u1`)).json()) as { sources: { batchRunId: string | null } }).sources.batchRunId;
    await waitFor(async () => ((await servedRun()) === third.runId ? true : undefined), { what: 'serving on the third run' });
    const rollback = await fetch(`${survivor.url}/batch/runs/${second}/publish`, { method: 'POST', headers: { authorization: auth } });
    expect(rollback.status).toBe(200);
    await waitFor(async () => ((await servedRun()) === second ? true : undefined), { what: 'serving on the rolled-back run' });
  });
});
