/**
 * `npm run bench:serving [-- --users 100000 --products 10000 --profile]`: serving's
 * GET /recommendations/:userId at a shop's size against a bare Fastify route that sends an answer
 * of the same size, both measured in this run on this machine (shared and noisy: the figure that
 * matters is the ratio). BENCH_SECONDS sets each measurement's length (default 10).
 *
 * Data: a seeded retail history (10 events per user by default) aggregated the way the batch
 * reads it, the batch model computed in memory and written and published by the batch's own
 * writers; the catalog with 2% of its products sold out; live sessions in Redis for a sample of
 * the users (views, a cart, a purchase the run has not read, so serving ranks them again after it,
 * ADR 017). Requests come from visits of a few pages each
 * (`--pages-per-visit`, 1 for independent requests), by shoppers coming back as skewed as they
 * shopped and by visitors the run does not know (`--visitors`).
 *
 * Figures (`--rounds` alternating rounds, the median): the maximum rate of both routes, their
 * ratio, and serving's p99 at half its maximum rate. `--profile` records a CPU profile of the serving measurement (node:inspector, the format
 * of `node --cpu-prof`), writes it to reports/bench/serving.cpuprofile and lists the functions
 * with the most self time in the report. With `--rerank` (default; `--no-rerank` skips it), serving
 * as configured is measured against serving with RERANK_AFTER_PURCHASE off: two servings started
 * for it and warmed alike, rounds alternating, on the same traffic; the report gives the run
 * ranker's build time and the size of its customer index's arrays. With `--diversity` (default;
 * `--no-diversity` skips it), DIVERSITY 0 (the default) against 0.3, the same way (ADR 018).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Session, type Profiler } from 'node:inspector/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { createLogger, createPgPool, createRedis } from '@lambdarec/clients';
import { servingConfigSchema, sessionPolicyFrom, type ServingConfig } from '@lambdarec/config';
import type { ClickEvent, Product } from '@lambdarec/contracts';
import {
  computeBatchModel,
  DEFAULT_BATCH_POLICY,
  groupByUser,
  seededRandom,
  type Interaction,
  type SessionSignal,
} from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createServing, type Serving } from '@lambdarec/serving';
import {
  createBatchRunsRepository,
  createCatalogRepository,
  createExperimentRepository,
  createSessionStore,
  publishWholeModel,
  runMigrations,
} from '@lambdarec/stores';
import { createTestDatabase, removeKeys, retailHistory, startInfra, uniqueName } from '@lambdarec/testing';
import { REPORT_DIR, writeBenchReport, type BenchFigure } from './report.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    products: { type: 'string', default: '10000' },
    /** @defaultValue 10 per user */
    events: { type: 'string' },
    /** Share of users with a live session. */
    sessions: { type: 'string', default: '0.1' },
    /** Share of requests for visitors the run does not know. */
    visitors: { type: 'string', default: '0.05' },
    /** Pages of a visit that ask for recommendations, on average; 1 makes every request an independent draw. */
    'pages-per-visit': { type: 'string', default: '4' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    /** Also measure serving with a running A/B and an interleaved experiment against none (--no-experiments skips it). */
    experiments: { type: 'boolean', default: true },
    /** Also measure serving with re-ranking after a purchase off, against it on (--no-rerank skips it). */
    rerank: { type: 'boolean', default: true },
    /** Also measure serving with DIVERSITY 0.3 against it at 0, the default (--no-diversity skips it). */
    diversity: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const USERS = Number(args.users);
const PRODUCTS = Number(args.products);
const EVENTS = args.events === undefined ? USERS * 10 : Number(args.events);
const SESSION_SHARE = Number(args.sessions);
const VISITOR_SHARE = Number(args.visitors);
const PAGES_PER_VISIT = Number(args['pages-per-visit']);
const CONCURRENT_VISITS = 500;
const CONNECTIONS = Number(args.connections);
const ROUNDS = Number(args.rounds);
const DURATION_S = Number(process.env['BENCH_SECONDS'] ?? 10);
const WARM_UP_S = Math.max(3, DURATION_S);
const SOLD_OUT_SHARE = 0.02;
const log = createLogger({ name: 'bench', level: 'error' });
const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (from: number) => `${((performance.now() - from) / 1000).toFixed(1)} s`;

/** Events aggregated per (user, product, type), as the batch reads its frozen input. */
function aggregate(events: Iterable<ClickEvent>): { interactions: Interaction[]; categories: Map<string, string>; asOf: number } {
  const byKey = new Map<string, Interaction>();
  const categories = new Map<string, string>();
  let asOf = 0;
  for (const event of events) {
    const at = Date.parse(event.timestamp!);
    asOf = Math.max(asOf, at);
    if (event.category !== undefined) categories.set(event.productId, event.category);
    const key = `${event.userId}\u0000${event.productId}\u0000${event.type}`;
    const known = byKey.get(key);
    if (known === undefined)
      byKey.set(key, {
        userId: event.userId,
        productId: event.productId,
        type: event.type,
        count: 1,
        lastAt: at,
        category: event.category ?? null,
      });
    else {
      known.count++;
      known.lastAt = Math.max(known.lastAt, at);
    }
  }
  return { interactions: [...byKey.values()], categories, asOf };
}

/** A shopper's live session: a few views in their favourite category, a cart, a purchase. */
function sessionOf(userId: string, history: readonly Interaction[], now: number): SessionSignal[] {
  const recent = history.slice(-5);
  return recent.map((row, i) => ({
    eventId: randomUUID(),
    userId,
    type: i === recent.length - 1 ? 'purchase' : i === recent.length - 2 ? 'add_to_cart' : 'view',
    productId: row.productId,
    category: row.category,
    at: now - (recent.length - i) * 60_000,
  }));
}

/** Where a profile node's code lives: this repository's project, a package, or the runtime. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'node (native)';
  const project = /\/(apps|libs)\/([^/]+)\//.exec(url);
  if (project !== null && !url.includes('/node_modules/')) return `${project[1]}/${project[2]}`;
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg !== null) return pkg[1]!;
  return url.startsWith('node:') ? 'node (lib)' : 'other';
}

/** Self time per function and per area, the most first, as shares of all samples. */
function summariseProfile(profile: Profiler.Profile, top = 15): string[] {
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const { functionName, url } = node.callFrame;
    const area = areaOf(url, functionName);
    const key = `${functionName || '(anonymous)'} [${area}]`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
  }
  const share = (hits: number) => `${((100 * hits) / total).toFixed(1).padStart(5)}%`;
  const ranked = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    'by area:',
    ...ranked(byArea).map(([area, hits]) => `${share(hits)}  ${area}`),
    'by function:',
    ...ranked(byFunction).map(([key, hits]) => `${share(hits)}  ${key}`),
  ];
}

const infra = await startInfra();
const db = await createTestDatabase(infra.databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
const pool = createPgPool({ url: db.url, log, applicationName: 'bench-serving', max: 20 });
const redis = createRedis({ url: infra.redisUrl, log, purpose: 'requests' });
const keyPrefix = `${uniqueName('bench')}:`;
// The settings serving runs with when nothing is configured, but this bench's key prefix.
const config = servingConfigSchema.parse({
  DATABASE_URL: db.url,
  REDIS_URL: infra.redisUrl,
  REDIS_KEY_PREFIX: keyPrefix,
  ...(process.env['CATALOG_CACHE_MS'] === undefined ? {} : { CATALOG_CACHE_MS: process.env['CATALOG_CACHE_MS'] }),
});

/**
 * The shop: catalog, a published run and live sessions, written through the batch's and the speed
 * layer's own writers. Only counts come back: the history and the model are garbage by the time
 * serving is measured, as they would be in a serving process.
 */
async function prepareShop(random: () => number): Promise<{ runId: string; userLists: number; sessionUsers: number }> {
  let started = performance.now();
  const { interactions, categories, asOf } = aggregate(retailHistory({ events: EVENTS, users: USERS, products: PRODUCTS }));
  say(`history: ${EVENTS.toLocaleString('en')} events → ${interactions.length.toLocaleString('en')} interactions (${seconds(started)})`);

  started = performance.now();
  const products: Product[] = [...categories].map(([productId, category]) => ({
    productId,
    category,
    inStock: random() >= SOLD_OUT_SHARE,
  }));
  const catalog = createCatalogRepository({ pool });
  for (let i = 0; i < products.length; i += 1000) await catalog.upsert(products.slice(i, i + 1000));
  const model = computeBatchModel(interactions, asOf, DEFAULT_BATCH_POLICY);
  say(
    `model: ${model.perUser.size.toLocaleString('en')} user lists, ${model.similar.size.toLocaleString('en')} similar lists (${seconds(started)})`,
  );

  started = performance.now();
  const runs = createBatchRunsRepository({ pool });
  const runId = randomUUID();
  await runs.create({ runId, trigger: 'bench' });
  await runs.markRunning(runId);
  // With the histories it was computed from, as the batch service keeps them: serving re-ranks with them.
  await publishWholeModel({ pool, runs }, runId, model, {}, undefined, groupByUser(interactions));
  say(`published run ${runId} (${seconds(started)})`);

  started = performance.now();
  const historyOf = new Map<string, Interaction[]>();
  for (const row of interactions) {
    let rows = historyOf.get(row.userId);
    if (rows === undefined) historyOf.set(row.userId, (rows = []));
    rows.push(row);
  }
  const sessions = createSessionStore({ redis, keyPrefix, policy: sessionPolicyFrom(config) });
  const withSession = [...historyOf.keys()].filter(() => random() < SESSION_SHARE);
  const now = Date.now();
  for (let i = 0; i < withSession.length; i += 500) {
    await sessions.record(withSession.slice(i, i + 500).flatMap((userId) => sessionOf(userId, historyOf.get(userId)!, now)));
  }
  say(`sessions: ${withSession.length.toLocaleString('en')} users (${seconds(started)})`);
  return { runId, userLists: model.perUser.size, sessionUsers: withSession.length };
}

/**
 * Who asks, in order: visits to the shop, interleaved, each a few pages that ask for the
 * visitor's recommendations (on average PAGES_PER_VISIT). Shoppers come back as skewed as they
 * shopped (the history's activity), and a share of visits are by people the run does not know.
 */
function storefrontTraffic(random: () => number, requests: number): string[] {
  const openVisits: Array<{ path: string; pagesLeft: number }> = [];
  const newVisit = () => ({
    path:
      random() < VISITOR_SHARE
        ? `/recommendations/visitor-${Math.floor(random() * 1e9)}`
        : `/recommendations/u${Math.floor(USERS * random() ** 1.5)}`,
    // Geometric, at least one page.
    pagesLeft: 1 + Math.floor(Math.log(1 - random()) / Math.log(1 - 1 / PAGES_PER_VISIT)),
  });
  while (openVisits.length < CONCURRENT_VISITS) openVisits.push(newVisit());
  const paths: string[] = [];
  while (paths.length < requests) {
    const slot = Math.floor(random() * openVisits.length);
    const visit = openVisits[slot]!;
    paths.push(visit.path);
    if (--visit.pagesLeft === 0) openVisits[slot] = newVisit();
  }
  return paths;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  const random = seededRandom(11);
  const shop = await prepareShop(random);

  const paths = storefrontTraffic(random, 200_000);

  // The ranker builds on serving's event loop: how long its longest synchronous stretch holds requests up.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const serving = await createServing({ pool, redis, config, log, registry: createMetricsRegistry('bench') });
  await serving.app.listen({ port: 0, host: '127.0.0.1' });
  const servingPort = (serving.app.server.address() as { port: number }).port;
  // Built in the background from start-up; measured only once it is there, as a process that has run a while.
  const ranker = await serving.rankers?.ready(shop.runId);
  loopDelay.disable();
  const longestStallMs = loopDelay.max / 1e6;
  if (ranker === undefined) throw new Error('serving built no run ranker: the run kept no histories?');
  say(
    `run ranker: ${ranker.customers.toLocaleString('en')} customers in ${ranker.ms} ms, the customer index's arrays ${(ranker.indexBytes / 2 ** 20).toFixed(1)} MiB, ` +
      `the event loop's longest stall meanwhile ${longestStallMs.toFixed(0)} ms`,
  );
  // The baseline answer: the median size of serving's own answers to the users it will be asked for.
  const samples = await Promise.all(paths.slice(0, 101).map(async (p) => (await fetch(`http://127.0.0.1:${servingPort}${p}`)).text()));
  samples.sort((a, b) => a.length - b.length);
  const sample = samples[50]!;

  const bare = Fastify();
  bare.get('/recommendations/:userId', async (_request, reply) => reply.type('application/json').send(sample));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const barePort = (bare.server.address() as { port: number }).port;

  // One sequence for every measurement: each asks for the users that come next, not again for
  // those the warm-up or an earlier measurement has just put in serving's caches.
  let nextPath = 0;
  const servingPaths: string[] = [];
  const load = (port: number, duration: number, overallRate?: number) =>
    autocannon({
      url: `http://127.0.0.1:${port}`,
      connections: CONNECTIONS,
      duration,
      ...(overallRate === undefined ? {} : { overallRate }),
      requests: [
        {
          setupRequest: (req) => {
            const next = paths[nextPath++ % paths.length]!;
            if (port !== barePort) servingPaths.push(next);
            return { ...req, path: next };
          },
        },
      ],
    });
  const measure = async (name: string, port: number, overallRate?: number) => {
    const result = await load(port, DURATION_S, overallRate);
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    say(
      `${name.padEnd(38)} ${result.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(result.latency.p50).padStart(3)} ms   ` +
        `p99 ${String(result.latency.p99).padStart(3)} ms   (${result.requests.total} requests)`,
    );
    return result;
  };

  say(
    `serving benchmark: ${USERS.toLocaleString('en')} users, ${PRODUCTS.toLocaleString('en')} products, ${CONNECTIONS} connections, ` +
      `${ROUNDS} rounds of ${DURATION_S} s per route, answer ${sample.length} bytes`,
  );
  // A server that has run for a while: compiled hot paths, caches holding the returning shoppers.
  await load(barePort, WARM_UP_S);
  await load(servingPort, WARM_UP_S);
  const warmedUpTo = servingPaths.length;
  const heapBefore = process.memoryUsage().heapUsed;

  // Rounds alternate the two routes, so that a neighbour's load on the machine weighs on both.
  const bareRates: number[] = [];
  const servingRates: number[] = [];
  const ratios: number[] = [];
  let profile: string[] | undefined;
  for (let round = 1; round <= ROUNDS; round++) {
    const baseline = await measure(`bare Fastify route, round ${round}`, barePort);
    let real: autocannon.Result;
    if (args.profile && round === ROUNDS) {
      const inspector = new Session();
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.start');
      real = await measure(`GET /recommendations, round ${round} (profiled)`, servingPort);
      const { profile: recorded } = await inspector.post('Profiler.stop');
      inspector.disconnect();
      profile = summariseProfile(recorded);
      mkdirSync(REPORT_DIR, { recursive: true });
      writeFileSync(path.join(REPORT_DIR, 'serving.cpuprofile'), JSON.stringify(recorded));
    } else {
      real = await measure(`GET /recommendations, round ${round}`, servingPort);
    }
    bareRates.push(baseline.requests.average);
    servingRates.push(real.requests.average);
    ratios.push(real.requests.average / baseline.requests.average);
  }
  const ratio = median(ratios);
  const maxRate = median(servingRates);
  const halfRate = Math.round(maxRate / 2);
  const atHalf = await measure(`GET /recommendations at ${halfRate} req/s`, servingPort, halfRate);
  const bareAtHalf = await measure(`bare Fastify route at ${halfRate} req/s`, barePort, halfRate);
  const heapAfter = process.memoryUsage().heapUsed;

  // With an experiment: the same serving, the same traffic, alternating no experiment, an A/B test
  // and an interleaved one, so that each ratio is against "none" measured beside it.
  const experimentRates = { none: [] as number[], ab: [] as number[], interleave: [] as number[] };
  if (args.experiments) {
    const experiments = createExperimentRepository({ pool });
    const variants = [
      { name: 'lambda', weight: 1, strategy: 'lambda' as const, params: {} },
      { name: 'stronger-boost', weight: 1, strategy: 'lambda' as const, params: { CATEGORY_BOOST: 0.6 } },
    ];
    const abId = uniqueName('bench-ab');
    const interleaveId = uniqueName('bench-interleave');
    const switchTo = async (mode: 'none' | 'ab' | 'interleave') => {
      await experiments.put(abId, { mode: 'ab', status: 'stopped', variants });
      await experiments.put(interleaveId, { mode: 'interleave', status: 'stopped', variants });
      if (mode !== 'none') await experiments.put(mode === 'ab' ? abId : interleaveId, { mode, status: 'running', variants });
      await serving.experiments.refresh();
    };
    const modes = ['none', 'ab', 'interleave'] as const;
    for (let round = 1; round <= ROUNDS; round++) {
      // Each round starts with another mode, so that none of them always runs on the warmest caches or the fullest heap.
      for (const mode of modes.map((_, i) => modes[(i + round - 1) % modes.length]!)) {
        await switchTo(mode);
        const result = await measure(`GET /recommendations, ${mode === 'none' ? 'no experiment' : mode}, round ${round}`, servingPort);
        experimentRates[mode].push(result.requests.average);
      }
    }
    await switchTo('none');
  }
  /** A serving's count of re-ranks by outcome, from its own /metrics. */
  const reranks = async (port: number): Promise<Record<string, number>> => {
    const page = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const counts: Record<string, number> = {};
    for (const match of page.matchAll(/^lrec_serving_reranks_total\{[^}]*outcome="([^"]+)"[^}]*\} (\d+)/gm))
      counts[match[1]!] = Number(match[2]);
    return counts;
  };
  /**
   * Serving as configured against serving with `changed` settings, on the same stores and traffic:
   * both started for it and warmed alike, so that neither has a per-user cache the other lacks
   * (serving measured above has run for minutes), and rounds alternating which goes first. Also
   * the configured side's re-ranks in the rounds, by outcome.
   */
  const alternatingWith = async (
    sides: { configured: string; changed: string },
    changed: Partial<ServingConfig>,
  ): Promise<{ configured: number[]; changed: number[]; reranks: Record<string, number> }> => {
    const opened: Serving[] = [];
    try {
      const open = async (settings: ServingConfig, name: string) => {
        const started = await createServing({ pool, redis, config: settings, log, registry: createMetricsRegistry(name) });
        opened.push(started);
        await started.app.listen({ port: 0, host: '127.0.0.1' });
        // A re-ranking serving answers as it will only once its own ranker is built.
        await started.rankers?.ready(shop.runId);
        return (started.app.server.address() as { port: number }).port;
      };
      const ports = { configured: await open(config, 'bench-configured'), changed: await open({ ...config, ...changed }, 'bench-changed') };
      await load(ports.configured, WARM_UP_S);
      await load(ports.changed, WARM_UP_S);
      const before = await reranks(ports.configured);
      const rates = { configured: [] as number[], changed: [] as number[] };
      for (let round = 1; round <= ROUNDS; round++) {
        const order = round % 2 === 1 ? (['configured', 'changed'] as const) : (['changed', 'configured'] as const);
        for (const side of order) {
          const result = await measure(`GET /recommendations, ${sides[side]}, round ${round}`, ports[side]);
          rates[side].push(result.requests.average);
        }
      }
      const after = await reranks(ports.configured);
      const counts = Object.fromEntries(Object.entries(after).map(([outcome, n]) => [outcome, n - (before[outcome] ?? 0)]));
      return { ...rates, reranks: counts };
    } finally {
      await Promise.all(opened.map((started) => started.close()));
    }
  };
  // Re-ranking after a purchase: on (as configured) against off, on the same traffic (10 % of users
  // with a session that holds a purchase the run has not read).
  const rerankRates = { on: [] as number[], off: [] as number[] };
  let rerankCounts = '';
  if (args.rerank) {
    const rates = await alternatingWith({ configured: 're-rank on', changed: 're-rank off' }, { RERANK_AFTER_PURCHASE: false });
    rerankRates.on.push(...rates.configured);
    rerankRates.off.push(...rates.changed);
    rerankCounts = Object.entries(rates.reranks)
      .map(([outcome, n]) => `${outcome} ${n.toLocaleString('en')}`)
      .join(', ');
  }
  const rerankRatio = median(rerankRates.on.map((rate, i) => rate / rerankRates.off[i]!));
  // DIVERSITY (ADR 018): the merge keeps its best 2 × limit and maximal marginal relevance picks from them.
  const diversityRates = { at0: [] as number[], at03: [] as number[] };
  if (args.diversity) {
    const rates = await alternatingWith({ configured: 'DIVERSITY 0', changed: 'DIVERSITY 0.3' }, { DIVERSITY: 0.3 });
    diversityRates.at0.push(...rates.configured);
    diversityRates.at03.push(...rates.changed);
  }
  const diversityRatio = median(diversityRates.at03.map((rate, i) => rate / diversityRates.at0[i]!));

  const perRound = (mode: 'ab' | 'interleave') => experimentRates[mode].map((rate, i) => rate / experimentRates.none[i]!);
  const abRatio = median(perRound('ab'));
  const interleaveRatio = median(perRound('interleave'));

  // Requests for a user asked for before since start-up: the most the per-user cache can answer.
  const seen = new Set(servingPaths.slice(0, warmedUpTo));
  let returning = 0;
  for (const p of servingPaths.slice(warmedUpTo)) {
    if (seen.has(p)) returning++;
    else seen.add(p);
  }
  const returningShare = returning / Math.max(1, servingPaths.length - warmedUpTo);

  say(`ratio serving / bare (median of ${ROUNDS} rounds): ${ratio.toFixed(2)} (${ratios.map((r) => r.toFixed(2)).join(', ')})`);
  if (args.experiments) {
    say(
      `ratio A/B experiment / none (median of ${ROUNDS} rounds): ${abRatio.toFixed(2)} (${perRound('ab')
        .map((r) => r.toFixed(2))
        .join(', ')})`,
    );
    say(
      `ratio interleaved / none (median of ${ROUNDS} rounds): ${interleaveRatio.toFixed(2)} (${perRound('interleave')
        .map((r) => r.toFixed(2))
        .join(', ')})`,
    );
  }
  if (args.diversity) say(`ratio DIVERSITY 0.3 / 0 (median of ${ROUNDS} rounds): ${diversityRatio.toFixed(2)}`);
  if (args.rerank)
    say(`ratio re-rank on / off (median of ${ROUNDS} rounds): ${rerankRatio.toFixed(2)}; re-ranks in its rounds: ${rerankCounts}`);
  say(`p99 at half the maximum rate: ${atHalf.latency.p99} ms (bare route at that rate: ${bareAtHalf.latency.p99} ms)`);
  say(`returning users among serving's requests: ${(returningShare * 100).toFixed(0)}%`);
  if (profile !== undefined) {
    say('self time while serving (the load generator runs in this process too):');
    for (const line of profile) say(`  ${line}`);
  }

  const figures: BenchFigure[] = [
    {
      label: `GET /recommendations, ${USERS.toLocaleString('en')} users × ${PRODUCTS.toLocaleString('en')} products (median of ${ROUNDS} rounds)`,
      value: maxRate,
      unit: 'req/s',
      baseline: { label: `bare Fastify route, same ${sample.length}-byte answer`, value: median(bareRates), unit: 'req/s' },
      ratio,
      // Both goals of the issue, so that the mark at the end is not read as the whole story:
      // 0.5×, and 0.3× (its fallback when 0.5× is out of reach on 2 shared cores).
      goal: `≥ 0.5× the bare route ${ratio >= 0.5 ? '✓' : '✗'}; at least 0.3× on 2 shared cores`,
      met: ratio >= 0.3,
    },
    {
      label: `p99 at half the maximum rate (${halfRate} req/s)`,
      value: atHalf.latency.p99,
      unit: 'ms',
      baseline: { label: 'bare route p99 at the same rate', value: bareAtHalf.latency.p99, unit: 'ms' },
      goal: '≤ 10 ms',
      met: atHalf.latency.p99 <= 10,
    },
    ...(args.rerank
      ? [
          {
            label: `GET /recommendations re-ranking after a purchase (ADR 017; ${shop.sessionUsers.toLocaleString('en')} users with one the run has not read)`,
            value: median(rerankRates.on),
            unit: 'req/s',
            baseline: { label: 'RERANK_AFTER_PURCHASE off, rounds alternating with it', value: median(rerankRates.off), unit: 'req/s' },
            ratio: rerankRatio,
            goal: '≥ 0.9× with it off',
            met: rerankRatio >= 0.9,
          },
        ]
      : []),
    ...(args.diversity
      ? [
          {
            label: "GET /recommendations with DIVERSITY 0.3 (ADR 018: the merge's best 2 × limit re-ranked by category)",
            value: median(diversityRates.at03),
            unit: 'req/s',
            baseline: { label: 'DIVERSITY 0 (the default), rounds alternating with it', value: median(diversityRates.at0), unit: 'req/s' },
            ratio: diversityRatio,
            goal: '≥ 0.9× at 0',
            met: diversityRatio >= 0.9,
          },
        ]
      : []),
    ...(args.experiments
      ? [
          {
            label: 'GET /recommendations with a running A/B experiment (lambda against a stronger category boost)',
            value: median(experimentRates.ab),
            unit: 'req/s',
            baseline: { label: 'no experiment, rounds alternating with it', value: median(experimentRates.none), unit: 'req/s' },
            ratio: abRatio,
            goal: '≥ 0.9× without an experiment',
            met: abRatio >= 0.9,
          },
          {
            label: 'GET /recommendations with a running interleaved experiment (both variants ranked per request)',
            value: median(experimentRates.interleave),
            unit: 'req/s',
            baseline: { label: 'no experiment, rounds alternating with it', value: median(experimentRates.none), unit: 'req/s' },
            ratio: interleaveRatio,
            goal: '≥ 0.8× without an experiment',
            met: interleaveRatio >= 0.8,
          },
        ]
      : []),
  ];
  const markdown = writeBenchReport({
    name: 'serving',
    setup:
      `${EVENTS.toLocaleString('en')} events from ${USERS.toLocaleString('en')} users over ${PRODUCTS.toLocaleString('en')} products, ` +
      `one published run (${shop.userLists.toLocaleString('en')} user lists), live sessions for ${shop.sessionUsers.toLocaleString('en')} users; ` +
      `requests from interleaved visits of ${PAGES_PER_VISIT} pages on average, shoppers returning as skewed as their activity, ` +
      `${(VISITOR_SHARE * 100).toFixed(0)}% of visits by people the run does not know; ` +
      `autocannon in process, ${CONNECTIONS} connections; ${ROUNDS} alternating rounds of ${DURATION_S} s per route after a ${WARM_UP_S} s warm-up of each.`,
    figures,
    notes: [
      `per round, serving / bare: ${ratios.map((r) => r.toFixed(2)).join(', ')}`,
      `serving's maximum rate per round: ${servingRates.map((r) => r.toFixed(0)).join(', ')} req/s; the bare route's: ${bareRates.map((r) => r.toFixed(0)).join(', ')} req/s`,
      `${(returningShare * 100).toFixed(0)}% of the measured requests were for a user asked for before (the most the per-user cache can answer)`,
      ...(args.rerank ? [`requests with a purchase in the re-rank rounds, by outcome: ${rerankCounts}`] : []),
      `run ranker (ADR 017): ${ranker.customers.toLocaleString('en')} customers' vectors built in ${ranker.ms} ms, the customer index's arrays ${(ranker.indexBytes / 2 ** 20).toFixed(1)} MiB; the event loop's longest stall from serving's start to the ranker built ${longestStallMs.toFixed(0)} ms`,
      `heap ${(heapBefore / 2 ** 20).toFixed(0)} MiB before the measurements, ${(heapAfter / 2 ** 20).toFixed(0)} MiB after (load generator included)`,
      ...(profile === undefined
        ? []
        : ['self time while serving (the load generator shares the process):', ...profile.map((line) => `\`${line}\``)]),
    ],
  });
  say('');
  say(markdown);
  await bare.close();
  await serving.close();
} finally {
  await removeKeys(redis, `${keyPrefix}*`);
  await redis.quit();
  await pool.end();
  await db.drop();
  await infra.stop();
}
