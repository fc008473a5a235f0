import { createKafka, createPgPool, createRedis, type EventConsumer, type PgPool, type Redis } from '@lambdarec/clients';
import { DEFAULT_BATCH_POLICY } from '@lambdarec/domain';
import { type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import {
  createArchiveReader,
  createBatchRunsRepository,
  createBatchViewReader,
  createBatchViewWriter,
  createBotFlagLedger,
  createEventArchive,
  runMigrations,
  type BotFlagInterval,
  type BotFlagLedger,
} from '@lambdarec/stores';
import {
  buildClickEvent,
  createTestDatabase,
  createTestTopic,
  removeKeys,
  testLogger,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@lambdarec/testing';
import { Queue } from 'bullmq';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildBatchApp } from '../src/app.js';
import { createArchiver } from '../src/archiver.js';
import { BATCH_JOB_NAME } from '@lambdarec/contracts';
import type { Job } from 'bullmq';
import type { AnyBatchJobData, BatchJobData, BatchJobResult } from '../src/jobs.js';
import { createRunCoordinator, type RunSettings } from '../src/run-coordinator.js';
import { createRunReconciler, upsertNightlySchedule } from '../src/scheduler.js';
import { createRunWorker } from '../src/worker.js';

const log = testLogger('batch-test');
const credentials = { user: 'ops', password: 'correct-horse' };
const auth = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
let redis: Redis;
let queue: Queue<AnyBatchJobData>;
let worker: ReturnType<typeof createRunWorker>;
let botFlags: BotFlagLedger;
const botFlagPrefix = `${uniqueName('batch-test')}:`;
const settings: RunSettings = { historyDays: 365, keepRuns: 3, maxPairsPerShard: 1_000_000, maxUsersPerShard: 1000, minShards: 2 };
let archiver: EventConsumer;
let producer: Producer;
let app: HttpServer;
const registry = createMetricsRegistry('batch-test');

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
  db = await createTestDatabase(databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'batch-test' });
  redis = createRedis({ url: redisUrl, log, purpose: 'bullmq' });
  const queueName = uniqueName('batch-queue');
  queue = new Queue<AnyBatchJobData>(queueName, { connection: redis });
  const runs = createBatchRunsRepository({ pool });
  botFlags = createBotFlagLedger({ redis, keyPrefix: botFlagPrefix });
  worker = createRunWorker({ pool, queue, connection: redis, runs, settings, botFlags, concurrency: 2, log });
  await worker.start();
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'batch-test', log });
  archiver = createArchiver({
    kafka,
    topic: topic.topic,
    groupId: uniqueName('archive-group'),
    archive: createEventArchive({ pool }),
    log,
    registry,
  });
  await archiver.start();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  app = await buildBatchApp({ log, registry, checks: { postgres: () => pool.query('SELECT 1') }, runs, queue, credentials });
});

afterAll(async () => {
  await app?.close();
  await archiver?.close();
  await producer?.disconnect();
  await worker?.close();
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  if (redis !== undefined) await removeKeys(redis, `${botFlagPrefix}*`);
  await redis?.quit();
  await pool?.end();
  await db?.drop();
  await topic?.remove();
});

const archivedCount = async (userPrefix: string) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE user_id LIKE $1', [`${userPrefix}%`])).rows[0]!.n;

/** When the archived events arrived (the Kafka records' timestamps), in order: what the bot guard judges. */
const arrivals = async (events: ReadonlyArray<{ eventId?: string }>) =>
  (
    await pool.query<{ arrived_at: Date }>('SELECT arrived_at FROM events WHERE event_id = ANY($1::uuid[]) ORDER BY arrived_at', [
      events.map((e) => e.eventId),
    ])
  ).rows.map((row) => row.arrived_at.getTime());

/** The flag the speed layer records for a burst: the user's events that arrived from its first to its last. */
const flagOf = async (userId: string, burst: ReadonlyArray<{ eventId?: string }>): Promise<BotFlagInterval> => {
  const times = await arrivals(burst);
  return { userId, reason: 'repeat', from: times[0]!, until: times[times.length - 1]! };
};

const waitForRun = (runId: string) =>
  waitFor(
    async () => {
      const res = await app.inject({ url: `/batch/runs/${runId}`, headers: { authorization: auth } });
      const run = res.json();
      return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
    },
    { what: `run ${runId} to finish`, timeoutMs: 30_000 },
  );

describe('archiver', () => {
  it('archives every event once, even when it is published twice', async () => {
    const events = [buildClickEvent({ userId: 'ar-1' }), buildClickEvent({ userId: 'ar-2', type: 'purchase' })];
    const messages = events.map((e) => ({ key: e.userId, value: JSON.stringify(e) }));
    await producer.send({ topic: topic.topic, acks: -1, messages });
    await producer.send({ topic: topic.topic, acks: -1, messages });
    await producer.send({
      topic: topic.topic,
      acks: -1,
      messages: [{ key: 'ar-3', value: JSON.stringify(buildClickEvent({ userId: 'ar-3' })) }],
    });
    await waitFor(async () => ((await archivedCount('ar-3')) === 1 ? true : undefined), { what: 'the marker event' });
    await waitFor(async () => ((await archivedCount('ar-')) === 3 ? true : undefined), { what: 'all three events archived' });
    const { rows } = await pool.query('SELECT event_id FROM events WHERE user_id IN ($1, $2) ORDER BY event_id', ['ar-1', 'ar-2']);
    expect(rows.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.eventId).sort());
  });
});

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

  it('leaves the events of a burst the bot guard flagged out of the model', async () => {
    const t = Date.now() - 30_000;
    const events = [
      ['bot-1', 'bot-a'],
      ['bot-1', 'bot-b'],
      ['bot-1', 'bot-a'],
      ['human-1', 'bot-a'],
      ['human-1', 'tea'],
    ].map(([userId, productId], i) => buildClickEvent({ userId, productId, timestamp: new Date(t + i).toISOString() }));
    await producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    await waitFor(async () => ((await archivedCount('bot-1')) === 3 && (await archivedCount('human-1')) === 2 ? true : undefined), {
      what: 'the events archived',
    });
    await botFlags.add([await flagOf('bot-1', events.slice(0, 3))]);

    const res = await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } });
    const run = await waitForRun(res.json().runId);
    expect(run.status).toBe('succeeded');
    expect(run.stats.botEventsExcluded).toBeGreaterThanOrEqual(3);
    const view = createBatchViewReader({ pool });
    expect(await view.userItems(run.runId, 'bot-1')).toEqual([]);
    // Only the human's basket links bot-a: with the bot's views, bot-b would be its neighbour.
    const similar = (await view.similarItems(run.runId, ['bot-a'])).get('bot-a') ?? [];
    expect(similar.map((c) => c.productId)).toEqual(['tea']);
  });

  it("a flood sent under a shopper's id costs them only the flooded burst: their events before and after it still count", async () => {
    const t = Date.now() - 20_000;
    // Every event the same UTC day, by its event time: leaving out the victim's day would lose them all.
    const event = (userId: string, productId: string, type: 'view' | 'purchase', i: number) =>
      buildClickEvent({ userId, productId, type, category: 'v6', timestamp: new Date(t + i).toISOString() });
    const send = (events: ReturnType<typeof buildClickEvent>[]) =>
      producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    const peer = ['v6-tea', 'v6-cake', 'v6-jam'].map((productId, i) => event('v6-peer', productId, 'purchase', i));
    const earlier = event('v6-victim', 'v6-tea', 'purchase', 3);
    await send([...peer, earlier]);
    await waitFor(async () => ((await archivedCount('v6-')) === 4 ? true : undefined), { what: "the victim's earlier purchase archived" });

    // Another client floods the victim's id: the same page again and again, flagged by its arrival.
    const burst = Array.from({ length: 12 }, (_, i) => event('v6-victim', 'v6-spam', 'view', 4 + i));
    await send(burst);
    await waitFor(async () => ((await archivedCount('v6-')) === 4 + burst.length ? true : undefined), { what: 'the burst archived' });
    const flag = await flagOf('v6-victim', burst);
    await botFlags.add([flag]);

    const later = event('v6-victim', 'v6-cake', 'purchase', 16);
    await send([later]);
    await waitFor(async () => ((await archivedCount('v6-')) === 5 + burst.length ? true : undefined), {
      what: "the victim's later purchase archived",
    });
    // The victim's own purchases arrived before the flag began and after it ended.
    const [[earlierArrival], [laterArrival]] = await Promise.all([arrivals([earlier]), arrivals([later])]);
    expect(earlierArrival).toBeLessThan(flag.from);
    expect(laterArrival).toBeGreaterThan(flag.until);

    const run = await waitForRun((await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } })).json().runId);
    expect(run.status).toBe('succeeded');
    expect(run.stats.botEventsExcluded).toBeGreaterThanOrEqual(burst.length);
    const view = createBatchViewReader({ pool });
    const bought = (await view.repurchase(run.runId, ['v6-tea', 'v6-cake'], [])).products;
    // The victim bought tea before the flood and cake after it: both count, beside the peer's.
    expect(bought.get('v6-tea')?.buyers).toBe(2);
    expect(bought.get('v6-cake')?.buyers).toBe(2);
    expect((await view.userItems(run.runId, 'v6-victim')).map((c) => c.productId)).toContain('v6-jam');
    // Only the burst named v6-spam: had it counted, the victim's tea and cake would be its neighbours.
    expect((await view.similarItems(run.runId, ['v6-spam'])).get('v6-spam') ?? []).toEqual([]);
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

  it('requires the dashboard credentials to start a run and to open Bull Board', async () => {
    expect((await app.inject({ method: 'POST', url: '/batch/runs' })).statusCode).toBe(401);
    const wrong = `Basic ${Buffer.from('ops:nope').toString('base64')}`;
    expect((await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: wrong } })).statusCode).toBe(401);
    expect((await app.inject('/admin/queues')).statusCode).toBe(401);
    const board = await app.inject({ url: '/admin/queues', headers: { authorization: auth } });
    expect(board.statusCode).toBe(200);
    expect(board.body).toMatch(/<html/i);
    const api = await app.inject({ url: '/admin/queues/api/queues', headers: { authorization: auth } });
    expect(api.json().queues[0].name).toBe(queue.name);
  });

  it('shows the runs and their daily report only with the dashboard credentials: 401 without or with wrong ones, 200 with', async () => {
    // A run record of its own (never queued), so that both answers would have one to show.
    const runId = crypto.randomUUID();
    const runs = createBatchRunsRepository({ pool });
    await runs.create({ runId, trigger: 'api', jobId: runId });
    await runs.markFailed(runId, 'never queued: a test record');
    const wrong = `Basic ${Buffer.from(`${credentials.user}:not-the-password`).toString('base64')}`;
    for (const url of ['/batch/runs', `/batch/runs/${runId}`]) {
      const anonymous = await app.inject(url);
      expect(anonymous.statusCode, `GET ${url} without credentials`).toBe(401);
      expect(anonymous.headers['www-authenticate']).toMatch(/^Basic/);
      expect(anonymous.body).not.toContain(runId);
      expect((await app.inject({ url, headers: { authorization: wrong } })).statusCode, `GET ${url} with a wrong password`).toBe(401);
      const shown = await app.inject({ url, headers: { authorization: auth } });
      expect(shown.statusCode, `GET ${url} with the credentials`).toBe(200);
      expect(shown.body).toContain(runId);
    }
  });

  it('refuses every state-changing dashboard and run route without credentials (401) and from another site (403)', async () => {
    // Every route Fastify knows, from its route tree: Bull Board's list grows with its versions.
    const mutating: Array<{ method: string; url: string }> = [];
    const stack: string[] = [];
    for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
      const match = /^((?:[│ ] {3})*)[├└]── (\S+) \(([^)]+)\)$/.exec(line);
      if (match === null) continue;
      const depth = match[1]!.length / 4;
      stack.length = depth;
      stack.push(match[2]!);
      const path = stack.join('');
      for (const method of match[3]!.split(', ')) {
        if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) continue;
        mutating.push({ method, url: path.replace(':queueName', encodeURIComponent(queue.name)).replace(/:[A-Za-z]+/g, 'x') });
      }
    }
    expect(mutating.length).toBeGreaterThan(20);
    expect(mutating).toContainEqual({ method: 'POST', url: '/batch/runs' });
    for (const { method, url } of mutating) {
      const anonymous = await app.inject({ method: method as 'POST', url, payload: {} });
      expect(anonymous.statusCode, `${method} ${url} without credentials`).toBe(401);
      const crossSite = await app.inject({
        method: method as 'POST',
        url,
        payload: {},
        headers: { authorization: auth, origin: 'https://evil.example' },
      });
      expect(crossSite.statusCode, `${method} ${url} from another site`).toBe(403);
    }
  });

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
