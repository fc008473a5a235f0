/**
 * `npm run bench:freshness [-- --trials 1000 --max-seconds 5]`: click-to-visible. The four
 * services run as processes (startIsolatedServices) on a topic, key prefix, queue and database of
 * their own; a batch run over the demo shop is published first, so serving answers as it does in a
 * shop. A trial posts one event to ingest (a view or a purchase, for a user with no session yet:
 * a fresh visitor, or a shopper the batch knows) and polls GET /recommendations/:userId on serving
 * until `sources.session` is true, which serving reports once it reads the user's session state:
 * the event has gone through ingest, Kafka and the speed layer into Redis. The time from sending
 * the POST to the first answer that shows it is the trial's figure.
 *
 * First the trials run on the idle system (the same-run baseline). Then ingest's maximum rate is
 * measured briefly (autocannon, POST /events with 10 events a request), and the trials run again
 * while a background load posts at half of that rate (autocannon `overallRate`, in a worker
 * thread so that its work does not delay this thread's clock readings).
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';
import { createKafka, createLogger } from '@lambdarec/clients';
import { demoCatalog, demoEvents } from '@lambdarec/local-stack';
import { createTestTopic, startInfra, startIsolatedServices, uniqueName } from '@lambdarec/testing';
import { processCpuSeconds } from './cpu-time.js';
import { groupLag } from './kafka-lag.js';
import { writeBenchReport, type BenchFigure } from './report.js';

const EVENTS_PER_REQUEST = 10;
const GOAL_P99_MS = 50;
const TRIAL_TIMEOUT_MS = 10_000;
const DRAIN_TIMEOUT_MS = 300_000;
const WARM_UP_MS = 3_000;

interface LoadPlan {
  url: string;
  connections: number;
  seconds: number;
  /** Requests a second over all connections; absent: as fast as ingest answers. */
  overallRate?: number;
  users: number;
  products: Array<{ productId: string; category: string }>;
}

interface LoadResult {
  requestsPerSecond: number;
  requests: number;
  non2xx: number;
  errors: number;
  p99Ms: number;
}

/** The worker thread's side: autocannon posting fresh events (new eventIds, many shoppers) until told to stop or its time is up. */
function runLoad(plan: LoadPlan): void {
  const types = ['view', 'view', 'view', 'click', 'click', 'add_to_cart', 'purchase'] as const;
  const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)]!;
  const body = () =>
    JSON.stringify({
      events: Array.from({ length: EVENTS_PER_REQUEST }, () => {
        const product = pick(plan.products);
        return { eventId: randomUUID(), userId: `load-${Math.floor(Math.random() * plan.users)}`, type: pick(types), ...product };
      }),
    });
  const latencies: number[] = [];
  const instance = autocannon(
    {
      url: `${plan.url}/events`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      connections: plan.connections,
      duration: plan.seconds,
      ...(plan.overallRate === undefined ? {} : { overallRate: plan.overallRate }),
      requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
    },
    (err, result) => {
      if (err !== null && err !== undefined) throw err;
      // Off the main thread autocannon hands back its raw counts (it leaves aggregating to a parent it expects to be its own).
      const raw = result as unknown as { totalCompletedRequests: number; non2xx: number; errors: number; duration: number };
      latencies.sort((a, b) => a - b);
      const summary: LoadResult = {
        requestsPerSecond: raw.totalCompletedRequests / raw.duration,
        requests: raw.totalCompletedRequests,
        non2xx: raw.non2xx,
        errors: raw.errors,
        p99Ms: latencies[Math.max(0, Math.ceil(0.99 * latencies.length) - 1)] ?? Number.NaN,
      };
      parentPort!.postMessage(summary);
      parentPort!.close();
    },
  );
  instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  parentPort!.on('message', (message) => {
    if (message === 'stop') instance.stop();
  });
}

if (!isMainThread) runLoad(workerData as LoadPlan);
else await main();

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      trials: { type: 'string', default: '1000' },
      /** Length of the measurement of ingest's maximum rate. */
      'max-seconds': { type: 'string', default: '5' },
      connections: { type: 'string', default: '10' },
      /** Shoppers the background load spreads its events over. */
      'load-users': { type: 'string', default: '100000' },
    },
  });
  const TRIALS = Number(args.trials);
  const MAX_SECONDS = Number(args['max-seconds']);
  const CONNECTIONS = Number(args.connections);
  const LOAD_USERS = Number(args['load-users']);

  const log = createLogger({ name: 'bench', level: 'error' });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

  // One kept-alive socket, as a storefront's backend would hold: each trial's timing is the services', not a TCP handshake's.
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const http = (method: string, url: string, { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {}) =>
    new Promise<{ status: number; json: unknown }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        url,
        { method, agent, headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : (JSON.parse(text) as unknown) });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check().catch(() => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  }

  function startLoad(plan: LoadPlan): { stop(): void; done: Promise<LoadResult> } {
    // Node 20 does not pass tsx's module hooks on to a worker: it registers them itself, then loads this file.
    const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const worker = new Worker(bootstrap, { eval: true, workerData: plan });
    const done = new Promise<LoadResult>((resolve, reject) => {
      worker.once('message', (result: LoadResult) => resolve(result));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the load worker exited (${code}) without a result`)));
    });
    return { stop: () => worker.postMessage('stop'), done };
  }

  const percentile = (sorted: readonly number[], p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  interface TrialStats {
    p50: number;
    p99: number;
    /** The POST alone: ingest answering once Kafka acknowledged. */
    postP50: number;
    postP99: number;
    /** From ingest's answer to the first answer of serving that shows the event: Kafka to speed to Redis to serving. */
    afterPostP50: number;
    afterPostP99: number;
    /** From ingest's answer to a plain kafkajs consumer (default settings, like speed's) receiving the event: Kafka's part. */
    deliveryP50: number;
    deliveryP99: number;
    max: number;
    timeouts: number;
    byKind: Record<string, number>;
  }

  const infra = await startInfra();
  const topic = await createTestTopic(infra.kafkaBrokers, { partitions: 6 });
  const run = uniqueName('bench-fresh');
  const keyPrefix = `${run}:`;
  const groups = { speed: `${run}-speed`, archive: `${run}-archive` };
  const queue = `${run}-batch`;
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'bench', log });
  const admin = kafka.admin();
  // Beside speed, in a group of its own with the same kafkajs defaults: when a trial's event reaches
  // a consumer that does nothing with it, which splits a slow trial into Kafka's part and the rest.
  const watcher = kafka.consumer({ groupId: uniqueName('bench-fresh-watch'), allowAutoTopicCreation: false });
  const awaitingDelivery = new Map<string, (at: number) => void>();
  let services: Awaited<ReturnType<typeof startIsolatedServices>> | undefined;

  try {
    await admin.connect();
    await watcher.connect();
    await watcher.subscribe({ topic: topic.topic, fromBeginning: false });
    await watcher.run({
      eachBatch: async ({ batch }) => {
        const at = performance.now();
        for (const message of batch.messages) awaitingDelivery.get(message.key?.toString() ?? '')?.(at);
      },
    });
    services = await startIsolatedServices(
      { DATABASE_URL: infra.databaseUrl, REDIS_URL: infra.redisUrl, KAFKA_BROKERS: infra.kafkaBrokers.join(',') },
      {
        EVENTS_TOPIC: topic.topic,
        REDIS_KEY_PREFIX: keyPrefix,
        SPEED_GROUP_ID: groups.speed,
        ARCHIVE_GROUP_ID: groups.archive,
        BATCH_QUEUE: queue,
        // The load comes from one address; ingest's per-client limit would answer most of it with 429.
        RATE_LIMIT_PER_MINUTE: '1000000000',
      },
    );
    const { url, secrets } = services;
    const drained = (group: string, timeoutMs = DRAIN_TIMEOUT_MS) =>
      until(
        `the ${group} group to catch up`,
        async () => ((await groupLag(admin, topic.topic, group)) === 0 ? true : undefined),
        timeoutMs,
      );

    // The demo shop, with as many shoppers as the trials sample (each trial's user must start without a session).
    const catalog = demoCatalog();
    const history = demoEvents({ users: TRIALS });
    const put = await http('PUT', `${url.ingest}/products`, { body: catalog, headers: { authorization: `Bearer ${secrets.catalogKey}` } });
    if (put.status !== 200) throw new Error(`PUT /products answered ${put.status}`);
    for (let i = 0; i < history.length; i += 500) {
      // A month of history: a history import, with the operator's key.
      const res = await http('POST', `${url.ingest}/events`, {
        body: { events: history.slice(i, i + 500).map((e) => ({ eventId: randomUUID(), ...e })) },
        headers: { authorization: `Bearer ${secrets.catalogKey}` },
      });
      if (res.status !== 202) throw new Error(`POST /events answered ${res.status}: ${JSON.stringify(res.json)}`);
    }
    await drained(groups.archive);
    const auth = { authorization: `Basic ${Buffer.from(`${secrets.dashboardUser}:${secrets.dashboardPassword}`).toString('base64')}` };
    const started = await http('POST', `${url.batch}/batch/runs`, { headers: auth });
    if (started.status !== 202) throw new Error(`POST /batch/runs answered ${started.status}: ${JSON.stringify(started.json)}`);
    const { runId } = started.json as { runId: string };
    const batchRun = await until('the batch run', async () => {
      const r = (await http('GET', `${url.batch}/batch/runs/${runId}`, { headers: auth })).json as { status: string; stats: unknown };
      return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
    });
    if (batchRun.status !== 'succeeded') throw new Error(`the batch run failed: ${JSON.stringify(batchRun.stats)}`);
    await until('serving to answer from the run', async () =>
      ((await http('GET', `${url.serving}/recommendations/demo-user-1`)).json as { sources: { batchRunId: string | null } }).sources
        .batchRunId === runId
        ? true
        : undefined,
    );
    await drained(groups.speed);
    say(`demo shop: ${catalog.length} products, ${fmt(history.length)} events from ${fmt(TRIALS)} shoppers; batch run ${runId} published`);

    const inStock = catalog.filter((p) => p.inStock);
    const sampledUsers = Array.from({ length: TRIALS }, (_, i) => `demo-user-${i + 1}`);
    const sessionVisible = async (userId: string) =>
      ((await http('GET', `${url.serving}/recommendations/${encodeURIComponent(userId)}`)).json as { sources?: { session?: boolean } })
        .sources?.session === true;

    async function runTrials(phase: string, count: number): Promise<{ stats: TrialStats; times: number[] }> {
      const times: number[] = [];
      const posts: number[] = [];
      const afterPosts: number[] = [];
      const deliveries: number[] = [];
      const byKind: Record<string, number[]> = {};
      let timeouts = 0;
      for (let i = 0; i < count; i++) {
        // Alternating: a view and a purchase, each for a fresh visitor and for a shopper the batch knows.
        const type = i % 4 < 2 ? 'view' : 'purchase';
        const sampled = i % 2 === 1;
        let userId = sampled ? sampledUsers.shift() : `fresh-${run}-${phase}-${i}`;
        // A demo shopper whose history reached the session (a purchase just inside 24 h) would show a session already: take the next.
        while (userId !== undefined && (await sessionVisible(userId))) userId = sampledUsers.shift();
        userId ??= `fresh-${run}-${phase}-${i}-instead`;
        const product = inStock[Math.floor(Math.random() * inStock.length)]!;
        const delivered = new Promise<number>((resolve) => awaitingDelivery.set(userId!, resolve));
        const begun = performance.now();
        const posted = await http('POST', `${url.ingest}/events`, {
          body: {
            eventId: randomUUID(),
            userId,
            sessionId: `${userId}-s`,
            type,
            productId: product.productId,
            category: product.category,
            ...(type === 'purchase' ? { value: product.price } : {}),
          },
        });
        if (posted.status !== 202) throw new Error(`POST /events answered ${posted.status}: ${JSON.stringify(posted.json)}`);
        posts.push(performance.now() - begun);
        let elapsed: number;
        for (;;) {
          const visible = await sessionVisible(userId);
          elapsed = performance.now() - begun;
          if (visible) break;
          if (elapsed > TRIAL_TIMEOUT_MS) {
            timeouts++;
            break;
          }
        }
        times.push(elapsed);
        afterPosts.push(elapsed - posts.at(-1)!);
        let giveUp: NodeJS.Timeout | undefined;
        const deliveredAt = await Promise.race([
          delivered,
          new Promise<number>((resolve) => (giveUp = setTimeout(() => resolve(Number.NaN), TRIAL_TIMEOUT_MS))),
        ]);
        clearTimeout(giveUp);
        awaitingDelivery.delete(userId);
        deliveries.push(deliveredAt - begun - posts.at(-1)!);
        (byKind[`${type}, ${sampled ? 'known' : 'fresh'}`] ??= []).push(elapsed);
      }
      const sorted = [...times].sort((a, b) => a - b);
      const sortedPosts = posts.sort((a, b) => a - b);
      const sortedAfterPosts = afterPosts.sort((a, b) => a - b);
      const sortedDeliveries = deliveries.map((ms) => (Number.isNaN(ms) ? TRIAL_TIMEOUT_MS : Math.max(0, ms))).sort((a, b) => a - b);
      return {
        times,
        stats: {
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          postP50: percentile(sortedPosts, 0.5),
          postP99: percentile(sortedPosts, 0.99),
          afterPostP50: percentile(sortedAfterPosts, 0.5),
          afterPostP99: percentile(sortedAfterPosts, 0.99),
          deliveryP50: percentile(sortedDeliveries, 0.5),
          deliveryP99: percentile(sortedDeliveries, 0.99),
          max: sorted.at(-1)!,
          timeouts,
          byKind: Object.fromEntries(
            Object.entries(byKind).map(([kind, list]) => [
              kind,
              percentile(
                [...list].sort((a, b) => a - b),
                0.99,
              ),
            ]),
          ),
        },
      };
    }
    const describe = (s: TrialStats) =>
      `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms${s.timeouts > 0 ? `, ${s.timeouts} not visible within ${TRIAL_TIMEOUT_MS / 1000} s` : ''} ` +
      `(the POST alone: p50 ${s.postP50.toFixed(1)} ms, p99 ${s.postP99.toFixed(1)} ms; from its answer to visible: p50 ${s.afterPostP50.toFixed(1)} ms, p99 ${s.afterPostP99.toFixed(1)} ms; ` +
      `from its answer to a plain consumer: p50 ${s.deliveryP50.toFixed(1)} ms, p99 ${s.deliveryP99.toFixed(1)} ms)`;

    const idle = (await runTrials('idle', TRIALS)).stats;
    say(`idle:       ${describe(idle)}`);

    const loadPlan = {
      url: url.ingest,
      connections: CONNECTIONS,
      users: LOAD_USERS,
      products: inStock.map(({ productId, category }) => ({ productId, category })),
    };
    const max = await startLoad({ ...loadPlan, seconds: MAX_SECONDS }).done;
    if (max.non2xx > 0 || max.errors > 0) throw new Error(`ingest at its maximum: ${max.non2xx} non-2xx answers, ${max.errors} errors`);
    say(
      `ingest maximum: ${fmt(max.requestsPerSecond * EVENTS_PER_REQUEST)} events/s (${fmt(max.requestsPerSecond)} requests/s, p99 ${max.p99Ms.toFixed(1)} ms) over ${MAX_SECONDS} s`,
    );
    // What the maximum left on the topic is not the background load's: start that from caught-up consumers.
    await drained(groups.speed);
    await drained(groups.archive);

    const backgroundRate = Math.max(1, Math.floor(max.requestsPerSecond / 2));
    const background = startLoad({ ...loadPlan, seconds: 3600, overallRate: backgroundRate });
    await sleep(WARM_UP_MS);
    const lagSamples: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        lagSamples.push(await groupLag(admin, topic.topic, groups.speed).catch(() => Number.NaN));
        await sleep(500);
      }
    })();
    const loadedStart = performance.now();
    const cpuBefore = Object.entries(services.pid).map(([name, pid]) => [name, pid, processCpuSeconds(pid)] as const);
    const loaded = (await runTrials('loaded', TRIALS)).stats;
    const loadedSeconds = (performance.now() - loadedStart) / 1000;
    const cpuShares = cpuBefore
      .map(([name, pid, before]) => {
        const after = processCpuSeconds(pid);
        return before === undefined || after === undefined ? undefined : `${name} ${Math.round(((after - before) / loadedSeconds) * 100)}%`;
      })
      .filter((share) => share !== undefined);
    sampling = false;
    await sampler;
    background.stop();
    const load = await background.done;
    const loadEventsPerSecond = load.requestsPerSecond * EVENTS_PER_REQUEST;
    const speedLag = { max: Math.max(...lagSamples.filter((n) => !Number.isNaN(n))), last: lagSamples.at(-1) ?? Number.NaN };
    say(`under load: ${describe(loaded)}`);
    if (cpuShares.length > 0) say(`CPU during the loaded trials (share of one core): ${cpuShares.join(', ')}`);
    say(
      `background load: ${fmt(loadEventsPerSecond)} events/s (${fmt(load.requestsPerSecond)} requests/s asked ${fmt(backgroundRate)}, ${load.non2xx} non-2xx, ${load.errors} errors, ingest p99 ${load.p99Ms.toFixed(1)} ms); ` +
        `speed lag sampled every 0.5 s: max ${fmt(speedLag.max)}, last ${fmt(speedLag.last)}`,
    );

    const latency = (label: string, loadedMs: number, idleMs: number, goal?: number): BenchFigure => ({
      label,
      value: loadedMs,
      unit: 'ms',
      baseline: { label: 'idle system, same trials', value: idleMs, unit: 'ms' },
      ratio: loadedMs / idleMs,
      ...(goal === undefined ? {} : { goal: `≤ ${goal} ms under load`, met: loadedMs <= goal && loaded.timeouts === 0 }),
    });
    const markdown = writeBenchReport({
      name: 'freshness',
      setup:
        `Click-to-visible: ${fmt(TRIALS)} trials (POST /events with one view or purchase, then GET /recommendations/:userId until sources.session is true), ` +
        `on the idle system and under a background load at half of ingest's maximum rate; batch, ingest, speed and serving as processes on one machine with Postgres, Redis and Kafka; ` +
        `the demo shop (${catalog.length} products, ${fmt(TRIALS)} shoppers) published by a batch run first.`,
      figures: [
        latency('click-to-visible p99 under load', loaded.p99, idle.p99, GOAL_P99_MS),
        latency('click-to-visible p50 under load', loaded.p50, idle.p50),
        latency('click-to-visible max under load', loaded.max, idle.max),
        {
          label: 'background load (POST /events, 10 events a request)',
          value: loadEventsPerSecond,
          unit: 'events/s',
          baseline: { label: "ingest's maximum, same run", value: max.requestsPerSecond * EVENTS_PER_REQUEST, unit: 'events/s' },
          ratio: load.requestsPerSecond / max.requestsPerSecond,
          goal: '≈ 0.5× the maximum',
          met: Math.abs(load.requestsPerSecond / max.requestsPerSecond - 0.5) <= 0.1,
        },
      ],
      notes: [
        `Idle: ${describe(idle)}. Under load: ${describe(loaded)} (the trials took ${loadedSeconds.toFixed(0)} s).`,
        `p99 by kind under load: ${Object.entries(loaded.byKind)
          .map(([kind, ms]) => `${kind} ${ms.toFixed(1)} ms`)
          .join('; ')}. Idle: ${Object.entries(idle.byKind)
          .map(([kind, ms]) => `${kind} ${ms.toFixed(1)} ms`)
          .join('; ')}.`,
        `Ingest's maximum: ${fmt(max.requestsPerSecond)} requests/s over ${MAX_SECONDS} s with ${CONNECTIONS} connections (p99 ${max.p99Ms.toFixed(1)} ms), while speed and the archiver consumed it. ` +
          `Background: ${fmt(load.requestsPerSecond)} requests/s for ${fmt(LOAD_USERS)} shoppers (asked ${fmt(backgroundRate)}), ${load.non2xx} non-2xx, ${load.errors} errors, ingest p99 ${load.p99Ms.toFixed(1)} ms.`,
        `The speed group's lag during the loaded trials (sampled every 0.5 s): max ${fmt(speedLag.max)} records, last ${fmt(speedLag.last)}.`,
        ...(cpuShares.length === 0
          ? []
          : [
              `CPU of the services during the loaded trials, in shares of one core (2 cores in all, shared with Postgres, Redis, Kafka and this bench): ${cpuShares.join(', ')}.`,
            ]),
        'A trial is timed from sending the POST (ingest answers once Kafka acknowledged) to receiving the first answer that shows the session; the polling GETs run back to back, so the figure is late by at most one GET.',
      ],
    });
    say('');
    say(markdown);
  } finally {
    await watcher.disconnect().catch(() => undefined);
    await services?.stop();
    await admin.disconnect().catch(() => undefined);
    await topic.remove();
    await infra.stop();
    agent.destroy();
  }
}
