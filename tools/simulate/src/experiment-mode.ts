/**
 * The experiment mode of `npm run simulate` (see main.ts): does the feedback loop find the better
 * strategy? Shoppers with hidden preferences visit the shop several times: they browse a few
 * products of their favourite category (so the speed layer's session knows something), ask for
 * recommendations, and react to the list as the shopper model says, everything through
 * @lambdarec/client as a shop would. The experiment's report from batch is then set beside the
 * truth the model knows.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createLambdarecClient, LambdarecError, type RecommendationAnswer } from '@lambdarec/client';
import type { ExperimentMode, ExperimentReport } from '@lambdarec/contracts';
import { createShopperPopulation, seededRandom, type Shopper } from '@lambdarec/domain';
import { demoCatalog, localInfrastructure, WORKSPACE_ROOT } from '@lambdarec/local-stack';
import { BatchRequestError, createBatchExperiments, type ReportReading } from './batch-experiments.js';
import { readCatalog } from './catalog.js';
import {
  browsedProducts,
  parseExperimentDesign,
  parseVisitsRange,
  planVisitOrder,
  reactionEvents,
  visitSeed,
  type ExperimentDesign,
  type PlannedVisit,
  type VisitsRange,
} from './experiment-plan.js';
import { formatExperimentLiveLine, formatExperimentTable, type ExperimentOutcome } from './experiment-table.js';
import { createTruthLedger } from './experiment-truth.js';
import { formatDurationBar } from './traffic.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (message: string, code = 1): never => {
  process.stderr.write(`simulate: ${message}\n`);
  process.exit(code);
};
const env = process.env;
const local = (port: string | undefined, fallback: number) => `http://127.0.0.1:${port ?? fallback}`;

const { values } = parseArgs({
  options: {
    experiment: { type: 'string' },
    create: { type: 'string' },
    stop: { type: 'boolean', default: false },
    shoppers: { type: 'string', default: '200' },
    visits: { type: 'string', default: '3-6' },
    rate: { type: 'string', default: '5' },
    duration: { type: 'string' },
    seed: { type: 'string' },
    limit: { type: 'string', default: '10' },
    'report-every': { type: 'string', default: '5' },
    // The ports `npm start` uses, moved the same way it moves them (INGEST_PORT, …).
    'ingest-url': { type: 'string', default: local(env['INGEST_PORT'], 3001) },
    'serving-url': { type: 'string', default: local(env['SERVING_PORT'], 3000) },
    'batch-url': { type: 'string', default: local(env['BATCH_PORT'], 3002) },
  },
});

const experimentId = values.experiment ?? '';
const shopperCount = Number(values.shoppers);
const rate = Number(values.rate);
const durationMs = values.duration === undefined ? Number.POSITIVE_INFINITY : Number(values.duration) * 1000;
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const limit = Number(values.limit);
const reportEveryMs = Number(values['report-every']) * 1000;
let visitsPerShopper: VisitsRange = { min: 0, max: 0 };
let design: ExperimentDesign | undefined;
try {
  visitsPerShopper = parseVisitsRange(values.visits!);
  design = values.create === undefined ? undefined : parseExperimentDesign(values.create);
} catch (err) {
  fail((err as Error).message, 2);
}
if (
  !/^[A-Za-z0-9_.:@-]{1,128}$/.test(experimentId) ||
  !Number.isInteger(shopperCount) ||
  shopperCount < 1 ||
  !(rate > 0) ||
  !(durationMs > 0) ||
  !Number.isInteger(seed) ||
  !Number.isInteger(limit) ||
  limit < 1 ||
  limit > 100 ||
  !(reportEveryMs > 0)
) {
  fail(
    '--experiment takes an experiment id; --shoppers a positive integer, --rate (visits/s), --duration (s) and --report-every (s) positive numbers, --seed an integer, --limit 1–100',
    2,
  );
}
const urls = { ingest: values['ingest-url']!, serving: values['serving-url']!, batch: values['batch-url']! };

/** A secret `npm start` generated for this checkout (tools/start.ts keeps them in .local/); never created here. */
const startSecret = (name: string): string | undefined => {
  const file = path.join(WORKSPACE_ROOT, '.local', name);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
};
const dashboardPassword = env['DASHBOARD_PASSWORD'] ?? startSecret('dashboard-password');
if (dashboardPassword === undefined) {
  fail(
    'no dashboard password for the experiments API: set DASHBOARD_PASSWORD (npm start keeps its generated one in .local/dashboard-password)',
  );
}
const batch = createBatchExperiments({
  batchUrl: urls.batch,
  authorization: `Basic ${Buffer.from(`${env['DASHBOARD_USER'] ?? 'admin'}:${dashboardPassword}`).toString('base64')}`,
});

/** A shopper browses and reads before the recommendations: the speed layer has their views by then. */
const BROWSE_MS = 1_000;
/** Visits under way at once, at most; beyond it the rate falls behind. */
const MAX_VISITS_IN_FLIGHT = 64;
const TICK_MS = 50;
/** How long serving may take to pick up a new experiment (it rereads it every BATCH_VIEW_REFRESH_MS). */
const EXPERIMENT_PICKUP_MS = 30_000;
/** How long the report may take to count the last events (the archiver's lag). */
const FINAL_REPORT_WAIT_MS = 30_000;

const reachable = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(3_000) }).then(
    () => true,
    () => false,
  );
for (const [name, url] of Object.entries(urls)) {
  if (!(await reachable(`${url}/healthz`)))
    fail(`${name} does not answer at ${url}; start the system with npm start, or pass --${name}-url`);
}

// --- the experiment ------------------------------------------------------------------------------

const requests = { serverErrors: 0, clientErrors: 0, noAnswer: 0, eventsGivenUp: 0 };
function countFailure(status: number | undefined): void {
  if (status === undefined || status === 0) requests.noAnswer++;
  else if (status >= 500) requests.serverErrors++;
  else requests.clientErrors++;
}

let mode: ExperimentMode | undefined = design?.mode;
try {
  if (design !== undefined) {
    const created = await batch.put(experimentId, { ...design, status: 'running' });
    say(`simulate: experiment ${experimentId} running (${created.mode}: ${created.variants.map((v) => v.name).join(' vs ')})`);
  } else {
    const found = await batch.find(experimentId);
    if (found === undefined) fail(`batch knows no experiment ${experimentId}; pass --create <mode>:<baseline>,<challenger> to create it`);
    if (found!.status !== 'running') fail(`experiment ${experimentId} is stopped; start it, or pass --create with its design`);
    mode = found!.mode;
    design = { mode: found!.mode, variants: found!.variants };
  }
} catch (err) {
  if (!(err instanceof BatchRequestError)) throw err;
  if (err.status >= 500) requests.serverErrors++;
  fail(err.status === 404 ? `${err.message} (this batch has no experiments API)` : err.message);
}

// --- the shoppers ----------------------------------------------------------------------------------

async function catalogProducts(): Promise<{ productId: string; category: string; price?: number | undefined }[]> {
  try {
    const databaseUrl = env['DATABASE_URL'] ?? localInfrastructure()['DATABASE_URL'];
    if (databaseUrl === undefined) throw new Error('no DATABASE_URL');
    const products = await readCatalog(databaseUrl);
    // A product without a category still counts, in a category of its own kind, as the model needs one.
    if (products.length > 0) return products.map((p) => ({ ...p, category: p.category ?? 'uncategorised' }));
  } catch (err) {
    say(`simulate: the system's catalog could not be read (${(err as Error).message}); using the demo shop's`);
  }
  return demoCatalog().filter((p) => p.inStock);
}
const catalog = await catalogProducts();
const priceOf = new Map(catalog.flatMap((p) => (p.price === undefined ? [] : [[p.productId, p.price] as const])));
const productsByCategory = new Map<string, string[]>();
for (const { productId, category } of catalog) productsByCategory.set(category, [...(productsByCategory.get(category) ?? []), productId]);

// A run-unique prefix: two runs' shoppers are never the same user, and their sessions do not mix.
const population = createShopperPopulation({
  catalog,
  seed,
  size: shopperCount,
  idPrefix: `sim-${seed}-${Date.now().toString(36)}-`,
});
const order = planVisitOrder(shopperCount, visitsPerShopper, seededRandom(seed));
const ledger = createTruthLedger(experimentId);

const client = createLambdarecClient({
  servingUrl: urls.serving,
  ingestUrl: urls.ingest,
  writeKey: env['EVENTS_WRITE_KEY'],
  page: null,
  onError: (error) => {
    requests.eventsGivenUp++;
    countFailure(error.status);
  },
  onRetry: ({ error }) => {
    // A 5xx that a retry then got through is still a 5xx the run saw.
    if (error.status !== undefined && error.status >= 500) requests.serverErrors++;
  },
});

/** Waits until serving answers from the experiment, so that the first visits count. */
async function servingPicksUp(): Promise<boolean> {
  const deadline = performance.now() + EXPERIMENT_PICKUP_MS;
  const probe = `${population.shoppers[0]!.id.replace(/\d+$/, '')}probe`;
  while (performance.now() < deadline) {
    const answer = await client.recommend(probe, { limit: 1 }).catch(() => undefined);
    if (answer?.experiment?.id === experimentId) return true;
    await sleep(250);
  }
  return false;
}

const stats = { lists: 0, listsWithoutId: 0, events: 0 };

async function visit(planned: PlannedVisit): Promise<void> {
  const shopper: Shopper = population.shoppers[planned.shopper]!;
  const random = seededRandom(visitSeed(seed, planned));
  const userId = shopper.id;
  const sessionId = `${userId}-v${planned.visit}`;
  try {
    const browsed = browsedProducts(shopper.favouriteCategories[0]!, productsByCategory, random);
    if (browsed.length > 0) {
      await client.sendEvents(browsed.map((productId) => ({ type: 'view', userId, sessionId, productId })));
      stats.events += browsed.length;
    }
    await sleep(BROWSE_MS);
    const answer: RecommendationAnswer = await client.recommend(userId, { limit });
    const reaction = shopper.react(answer.items, random);
    ledger.record(shopper, answer, reaction.clicks);
    if (client.trackImpression(answer, { sessionId }) === undefined) {
      stats.listsWithoutId++;
      return;
    }
    stats.lists++;
    for (const event of reactionEvents(answer.items, reaction, (id) => priceOf.get(id))) {
      if (event.type === 'click') client.trackClick(answer, event.position, { sessionId });
      else {
        const { type, productId, position, value } = event;
        client.track({
          type,
          userId,
          sessionId,
          productId,
          recommendationId: answer.recommendationId,
          position,
          ...(value === undefined ? {} : { value }),
        });
      }
    }
    stats.events += 1 + reaction.clicks.length + reaction.carts.length + reaction.purchases.length;
  } catch (err) {
    if (!(err instanceof LambdarecError)) throw err;
    countFailure(err.status);
  }
}

// --- the run -----------------------------------------------------------------------------------------

let stopping = false;
let interrupted = false;
process.on('SIGINT', () => {
  // A second Ctrl-C means "now".
  if (interrupted) process.exit(130);
  interrupted = true;
  stopping = true;
  say('\nstopping: no new visits; the report follows (Ctrl-C again to quit now)');
});

let lastReading: ReportReading = { problem: 'not read yet', status: 0 };
async function readReport(): Promise<ReportReading> {
  lastReading = await batch.report(experimentId);
  if ('status' in lastReading && lastReading.status >= 500) requests.serverErrors++;
  return lastReading;
}
const outcome = (): ExperimentOutcome => ({
  experimentId,
  mode: 'report' in lastReading ? lastReading.report.mode : mode,
  arms: ledger.arms(),
  report: 'report' in lastReading ? lastReading.report : undefined,
  reportProblem: 'problem' in lastReading ? lastReading.problem : undefined,
});

say(
  `simulate: ${shopperCount} shoppers, ${visitsPerShopper.min}–${visitsPerShopper.max} visits each (${order.length} in all) at ${rate} visits/s, ` +
    `seed ${seed}, over ${catalog.length} products in ${productsByCategory.size} categories → ${urls.serving}, ${urls.ingest}`,
);
if (!(await servingPicksUp())) {
  say(`simulate: serving at ${urls.serving} does not answer from experiment ${experimentId} yet; its lists will count as outside it`);
}

const started = performance.now();
const byShopper = new Map<number, Promise<void>>();
const pending = new Set<Promise<void>>();
let nextVisit = 0;
let visitsDone = 0;
let lastReportAt = 0;
const progress = () => ({ elapsedMs: performance.now() - started, visitsDone, visitsPlanned: order.length });
const showLive = () => {
  const elapsed = performance.now() - started;
  const bar = Number.isFinite(durationMs) ? `${formatDurationBar(elapsed, durationMs)}  ` : '';
  say(`${bar}${formatExperimentLiveLine(progress(), outcome())}`);
};

while (!stopping && nextVisit < order.length) {
  const elapsed = performance.now() - started;
  if (elapsed >= durationMs) break;
  // Paced by the total since the start, the first visit at once.
  let due = Math.min(Math.floor((rate * elapsed) / 1000) + 1, order.length) - nextVisit;
  while (due-- > 0 && pending.size < MAX_VISITS_IN_FLIGHT) {
    const planned = order[nextVisit++]!;
    // A shopper's next visit waits for their last one: one person, one page at a time.
    const work = (byShopper.get(planned.shopper) ?? Promise.resolve()).then(() => visit(planned)).finally(() => visitsDone++);
    byShopper.set(planned.shopper, work);
    pending.add(work);
    void work.finally(() => pending.delete(work));
  }
  if (elapsed - lastReportAt >= reportEveryMs) {
    lastReportAt = elapsed;
    void readReport().then(showLive);
  }
  await sleep(TICK_MS);
}
stopping = true;
await Promise.race([Promise.allSettled([...pending]), interrupted ? sleep(2_000) : new Promise(() => undefined)]);
await client.close();

// The report counts what the archiver has stored: wait, within reason, until it has caught up.
const sentClicks = () => [...ledger.arms().values()].reduce((sum, arm) => sum + arm.clicks, 0);
const caughtUp = (report: ExperimentReport) => {
  const counted = (key: 'impressions' | 'clicks') => report.variants.reduce((sum, variant) => sum + variant[key], 0);
  return counted('impressions') >= stats.lists && counted('clicks') >= sentClicks();
};
const deadline = performance.now() + (interrupted ? 0 : FINAL_REPORT_WAIT_MS);
for (;;) {
  const reading = await readReport();
  if (!('report' in reading)) break;
  if (caughtUp(reading.report) || performance.now() > deadline) break;
  await sleep(1_000);
}
showLive();

if (values.stop) {
  try {
    await batch.put(experimentId, { ...design!, status: 'stopped' });
    say(`simulate: experiment ${experimentId} stopped`);
  } catch (err) {
    if (!(err instanceof BatchRequestError)) throw err;
    if (err.status >= 500) requests.serverErrors++;
    say(`simulate: stopping ${experimentId} failed: ${err.message}`);
  }
}

const seconds = (performance.now() - started) / 1000;
say('');
say(formatExperimentTable(outcome()));
say('');
say(
  `summary: ${visitsDone} visits in ${seconds.toFixed(1)} s, ${stats.lists} lists shown, ${stats.events} events; ` +
    `outside the experiment: ${ledger.outside}, without recommendationId: ${stats.listsWithoutId}; ` +
    `failures 4xx: ${requests.clientErrors}, 5xx: ${requests.serverErrors}, no answer: ${requests.noAnswer}, events given up: ${requests.eventsGivenUp}`,
);
process.exitCode = requests.serverErrors + requests.noAnswer + requests.clientErrors + requests.eventsGivenUp > 0 ? 1 : 0;
