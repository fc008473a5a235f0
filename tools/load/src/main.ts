/**
 * `npm run load -- [file] [--ingest-url …] [--batch-url …] [--concurrency 4] [--skip-events N]
 * [--no-batch-run]`: a dataset in the UCI Online Retail layout (by default the shared copy, read
 * in place) into a running system through its public APIs only: the catalog with `PUT /products`,
 * every clean invoice line as a `purchase` with `POST /events`, then a batch run (`POST
 * /batch/runs`) whose stats it prints.
 *
 * Safe to run again or after an interruption: each eventId is derived from its invoice line, so
 * ingest's consumers keep every event once. The events go through @lambdarec/client, as a shop's
 * server would send them: 429 waits for Retry-After, 503 and lost answers are retried with backoff
 * (same body, same ids); a 400 is printed and stops the load.
 *
 * The events go in as a history import, with the operator's key (CATALOG_API_KEY) as bearer
 * token: a live request may date events at most EVENT_MAX_AGE_HOURS back, and the bot guard does
 * not judge imported events (a shop's history is full of repeated purchases).
 *
 * URLs and credentials come from where `npm start` takes them: INGEST_PORT / BATCH_PORT,
 * CATALOG_API_KEY, DASHBOARD_USER (admin) / DASHBOARD_PASSWORD from the environment, else the
 * secrets npm start generated in .local/; the options override them.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLIENT_ERROR_CODES, createLambdarecClient, LambdarecError, MAX_EVENTS_PER_REQUEST } from '@lambdarec/client';
import { MAX_PRODUCTS_PER_REQUEST } from '@lambdarec/contracts';
import { createProgress, loadOnlineRetail } from '@lambdarec/eval';
import { sumMetric } from '@lambdarec/simulate';
import { Interrupted, LoadRequestError, RateLimitedAgain, sendUntilAccepted, type Waiting } from './api-client.js';
import { catalogOf, chunks, donePrefix, MAX_ATTEMPTS, purchaseEventOf, type PurchaseEvent } from './retail-to-api.js';

const ARCHIVER_EVENTS = 'lrec_archive_events_total';
const DEFAULT_DATASET = '/work/shared/datasets/online-retail/online_retail.csv.gz';
const root = fileURLToPath(new URL('../../..', import.meta.url));
const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (message: string, code = 1): never => {
  process.stderr.write(`load: ${message}\n`);
  process.exit(code);
};
const env = process.env;
/** A secret `npm start` generated for this checkout (tools/start.ts keeps them in .local/); never created here. */
const startSecret = (name: string): string | undefined => {
  const file = path.join(root, '.local', name);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'ingest-url': { type: 'string', default: `http://127.0.0.1:${env['INGEST_PORT'] ?? 3001}` },
    'batch-url': { type: 'string', default: `http://127.0.0.1:${env['BATCH_PORT'] ?? 3002}` },
    'catalog-key': { type: 'string' },
    'dashboard-user': { type: 'string' },
    'dashboard-password': { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'skip-events': { type: 'string', default: '0' },
    'no-batch-run': { type: 'boolean', default: false },
  },
});
const file = positionals[0] ?? DEFAULT_DATASET;
const concurrency = Number(values.concurrency);
const skipEvents = Number(values['skip-events']);
if (positionals.length > 1 || !Number.isInteger(concurrency) || concurrency < 1 || !Number.isInteger(skipEvents) || skipEvents < 0) {
  fail(
    'usage: npm run load -- [file] [--concurrency N ≥ 1] [--skip-events N ≥ 0] [--ingest-url URL] [--batch-url URL] [--no-batch-run]',
    2,
  );
}
if (!existsSync(file)) {
  fail(
    positionals[0] === undefined
      ? `the shared dataset is not at ${DEFAULT_DATASET}; pass a file in the UCI Online Retail layout: npm run load -- path/to/online_retail.csv[.gz]`
      : `no file at ${file}`,
    2,
  );
}
const ingestUrl = values['ingest-url']!;
const batchUrl = values['batch-url']!;
const runBatch = !values['no-batch-run'];
const catalogKey = values['catalog-key'] ?? env['CATALOG_API_KEY'] ?? startSecret('catalog-api-key');
if (catalogKey === undefined)
  fail('no catalog API key: set CATALOG_API_KEY or pass --catalog-key (npm start keeps its generated one in .local/catalog-api-key)');
const dashboardUser = values['dashboard-user'] ?? env['DASHBOARD_USER'] ?? 'admin';
const dashboardPassword = values['dashboard-password'] ?? env['DASHBOARD_PASSWORD'] ?? startSecret('dashboard-password');
if (runBatch && dashboardPassword === undefined) {
  fail(
    'no dashboard password for POST /batch/runs: set DASHBOARD_PASSWORD or pass --dashboard-password (npm start keeps its generated one in .local/dashboard-password), or pass --no-batch-run',
  );
}
const dashboardAuth = `Basic ${Buffer.from(`${dashboardUser}:${dashboardPassword}`).toString('base64')}`;
const json = { 'content-type': 'application/json' };
const operatorHeaders = { ...json, authorization: `Bearer ${catalogKey}` };

const reachable = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(3_000) }).then(
    () => true,
    () => false,
  );
for (const [name, url] of [['ingest', ingestUrl], ...(runBatch ? [['batch', batchUrl]] : [])] as const) {
  if (!(await reachable(`${url}/healthz`)))
    fail(`${name} does not answer at ${url}; start the system with npm start, or pass --${name}-url`);
}

// Ctrl-C: requests already sent are answered, none is sent or retried after; the message says how to go on.
const stop = new AbortController();
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  stop.abort();
  say('\nstopping: nothing more is sent (Ctrl-C again to quit now)');
});

// Ingest explains a 429 (its limit, or a request over it) and a 503; say it once per reason, not on every retry.
const told = new Set<string>();
function onWait({ status, delayMs, rateLimited, reason }: Waiting): void {
  const key = `${status}:${reason}`;
  if (told.has(key)) return;
  told.add(key);
  let why = reason;
  try {
    why = (JSON.parse(reason) as { message?: string }).message ?? reason;
  } catch {
    // not JSON: a network error's text
  }
  const hint = rateLimited ? ' (ingest counts events per client a minute; a higher RATE_LIMIT_PER_MINUTE on ingest loads faster)' : '';
  process.stdout.write(`\n${status ?? 'no answer'}: ${why} → sending again in ${Math.ceil(delayMs / 1000)} s${hint}\n`);
}

// The events' way in: a history import with the operator's key, retried as decideRetry does for the
// other requests (about two minutes of backoff for 5xx and lost answers, rate limits waited out).
const ingest = createLambdarecClient({
  ingestUrl,
  operatorKey: catalogKey,
  page: null,
  requestTimeoutMs: 60_000,
  maxRetries: MAX_ATTEMPTS - 1,
  maxRateLimitRetries: Infinity,
  onRetry: ({ error, delayMs }) => onWait({ status: error.status, delayMs, rateLimited: error.status === 429, reason: error.message }),
});

/**
 * Sends events as one request, or in halves (recursively) when the rate limit refuses it again
 * after a new minute began, like sendInParts. Ctrl-C stops the request and its waits.
 */
async function sendEventsInParts(events: readonly PurchaseEvent[]): Promise<void> {
  try {
    await ingest.sendEvents(events, { signal: stop.signal, maxRateLimitRetries: events.length > 1 ? 1 : Infinity });
  } catch (err) {
    if (err instanceof LambdarecError && err.code === CLIENT_ERROR_CODES.ABORTED) throw new Interrupted();
    if (!(err instanceof LambdarecError && err.status === 429)) throw err;
    const half = Math.ceil(events.length / 2);
    await sendEventsInParts(events.slice(0, half));
    await sendEventsInParts(events.slice(half));
  }
}

/**
 * Sends the items in one request, or in halves (recursively) when the rate limit refuses it again
 * after a new minute began: a request larger than the whole per-minute budget is refused every
 * minute, and RATE_LIMIT_PER_MINUTE may be set below the API's request size.
 */
async function sendInParts<T>(
  url: string,
  method: string,
  headers: Record<string, string>,
  items: readonly T[],
  body: (part: readonly T[]) => string,
): Promise<void> {
  try {
    await sendUntilAccepted(
      url,
      { method, headers, body: body(items) },
      { onWait, signal: stop.signal, rateLimitedLimit: items.length > 1 ? 2 : Infinity },
    );
  } catch (err) {
    if (!(err instanceof RateLimitedAgain)) throw err;
    const half = Math.ceil(items.length / 2);
    await sendInParts(url, method, headers, items.slice(0, half), body);
    await sendInParts(url, method, headers, items.slice(half), body);
  }
}

/** Runs `send` over the items, `concurrency` at a time, until done or interrupted; answers which indexes finished. */
async function inParallel(count: number, send: (index: number) => Promise<void>): Promise<Set<number>> {
  const done = new Set<number>();
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!interrupted && !failed && next < count) {
      const index = next++;
      try {
        await send(index);
      } catch (err) {
        // A request left waiting for its retry by Ctrl-C is not done; the caller reports what is.
        if (err instanceof Interrupted) return;
        // A refused request stops the load: the other workers send nothing more.
        failed = true;
        throw err;
      }
      done.add(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return done;
}

const began = performance.now();
const seconds = (from: number) => `${((performance.now() - from) / 1000).toFixed(1)} s`;

say(`▶ reading ${file}`);
const reading = createProgress('reading', process.stdout);
const { lines, stats } = await loadOnlineRetail(file, { onProgress: (f) => reading.update(f) });
reading.done();
say(
  `  ${stats.rows} rows, ${stats.kept} clean purchase lines: ${stats.customers} customers, ${stats.products} products, ${stats.invoices} invoices`,
);

try {
  const products = catalogOf(lines);
  say(`▶ catalog: ${products.length} products → PUT ${ingestUrl}/products`);
  const productChunks = chunks(products, MAX_PRODUCTS_PER_REQUEST);
  const catalogDone = await inParallel(productChunks.length, async (i) => {
    await sendInParts(`${ingestUrl}/products`, 'PUT', operatorHeaders, productChunks[i]!, (part) => JSON.stringify(part));
  });
  if (interrupted)
    throw new Interrupted(
      `interrupted during the catalog (${catalogDone.size} of ${productChunks.length} requests done); run again to finish, nothing is duplicated`,
    );

  const archiveBaseline = runBatch ? await archiverEvents() : undefined;
  const events = lines.slice(skipEvents).map(purchaseEventOf);
  const eventChunks = chunks(events, MAX_EVENTS_PER_REQUEST);
  say(`▶ events: ${events.length} purchases${skipEvents > 0 ? ` (the first ${skipEvents} skipped)` : ''} → POST ${ingestUrl}/events`);
  const sending = createProgress(`${events.length} events`, process.stdout);
  const eventsStarted = performance.now();
  let sent = 0;
  const eventsDone = await inParallel(eventChunks.length, async (i) => {
    const body = eventChunks[i]!;
    await sendEventsInParts(body);
    sent += body.length;
    sending.update(sent / Math.max(1, events.length));
  });
  if (interrupted) {
    const safeSkip = skipEvents + Math.min(events.length, donePrefix(eventsDone) * MAX_EVENTS_PER_REQUEST);
    throw new Interrupted(
      `interrupted: ${sent} of ${events.length} events accepted. Running the same command again is safe (the eventIds repeat, so nothing is\n` +
        `stored twice); to skip what is certainly in already, add --skip-events ${safeSkip}`,
    );
  }
  sending.done();
  say(`  ${sent} events accepted in ${seconds(eventsStarted)}`);

  if (runBatch) {
    const caughtUp = await waitForArchiver(archiveBaseline, sent);
    await batchRun(sent, caughtUp, spanDays(lines));
  }
  say(`load: ${products.length} products and ${sent} purchase events from ${path.basename(file)} in ${seconds(began)}`);
} catch (err) {
  if (err instanceof Interrupted) {
    say(`\n${err.message}`);
    process.exitCode = 130;
  } else if (err instanceof LoadRequestError) reportRefusal(err);
  else if (err instanceof LambdarecError) reportEventsRefusal(err);
  else throw err;
}

/** What the API said about a request it refused: ingest's 400 names each bad field by its path. */
function reportRefusal(err: LoadRequestError): void {
  process.stderr.write(`\nload: ${err.message}\n`);
  try {
    const answer = JSON.parse(err.body) as { message?: string; issues?: { path: (string | number)[]; message: string }[] };
    for (const issue of answer.issues ?? []) process.stderr.write(`  ${issue.path.join('.')}: ${issue.message}\n`);
    if (answer.issues === undefined && answer.message !== undefined) process.stderr.write(`  ${answer.message}\n`);
  } catch {
    process.stderr.write(`  ${err.body.slice(0, 500)}\n`);
  }
  process.exitCode = 1;
}

/** What ingest said about events it refused (the client's error carries its code, message and issues). */
function reportEventsRefusal(err: LambdarecError): void {
  const outcome =
    err.status !== undefined
      ? `answered ${err.status}`
      : err.code === CLIENT_ERROR_CODES.INVALID_EVENT
        ? 'was not sent: events ingest would refuse'
        : `answered nothing (${err.message})`;
  process.stderr.write(`\nload: POST ${ingestUrl}/events ${outcome}\n`);
  for (const issue of err.issues) process.stderr.write(`  ${issue.path.join('.')}: ${issue.message}\n`);
  if (err.issues.length === 0 && err.status !== undefined) process.stderr.write(`  ${err.message}\n`);
  process.exitCode = 1;
}

/** Events the archiver has handled (archived, duplicate or dead-lettered) since its process started. */
async function archiverEvents(): Promise<number | undefined> {
  try {
    const res = await fetch(`${batchUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return undefined;
    const text = await res.text();
    // A counter with labels has no samples until its first event: declared but empty is zero.
    return sumMetric(text, ARCHIVER_EVENTS) ?? (text.includes(`# TYPE ${ARCHIVER_EVENTS} `) ? 0 : undefined);
  } catch {
    return undefined;
  }
}

/**
 * A run reads the archived events, and the archiver is a Kafka consumer some way behind ingest's
 * 202: wait until it has handled as many events as this load sent (duplicates count, so a re-run
 * waits too). Other traffic at the same time can end the wait early; a minute without progress
 * ends it with a warning.
 */
async function waitForArchiver(baseline: number | undefined, expected: number): Promise<boolean> {
  if (baseline === undefined) {
    say("  (the batch service's /metrics has no archiver count; starting the run without waiting for the archiver)");
    return false;
  }
  const archiving = createProgress('archived', process.stdout);
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const handled = ((await archiverEvents()) ?? baseline) - baseline;
    archiving.update(handled / Math.max(1, expected));
    if (handled >= expected) break;
    if (handled !== last) {
      last = handled;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > 60_000) {
      say(`\n  the archiver handled ${handled} of ${expected} events and has not moved for a minute; starting the run anyway`);
      return false;
    }
    if (interrupted)
      throw new Interrupted(
        'interrupted while waiting for the archiver; the events are in, start a run with POST /batch/runs or run this again',
      );
    await sleep(500);
  }
  archiving.done();
  return true;
}

interface Run {
  runId: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  published: boolean;
  progress: { phase: string; shardsDone: number; shardsTotal: number } | null;
  stats: {
    eventsRead?: number;
    users?: number;
    items?: number;
    similarityPairs?: number;
    durationMs?: number;
    historyDays?: number;
    error?: string;
  };
}

async function waitForRun(runId: string): Promise<Run> {
  let shown = '';
  for (;;) {
    const run = (await sendUntilAccepted(
      `${batchUrl}/batch/runs/${runId}`,
      { method: 'GET', headers: { authorization: dashboardAuth } },
      { onWait, signal: stop.signal },
    )) as Run;
    if (run.status === 'succeeded' || run.status === 'failed') return run;
    const where =
      run.progress === null
        ? run.status
        : `${run.progress.phase}${run.progress.shardsTotal > 0 ? ` ${run.progress.shardsDone}/${run.progress.shardsTotal}` : ''}`;
    if (where !== shown) {
      shown = where;
      say(`  ${runId}: ${where}`);
    }
    if (interrupted) throw new Interrupted(`the run goes on without this script; see ${batchUrl}/batch/runs/${runId}`);
    await sleep(1_000);
  }
}

/** Days from the first to the last invoice line. */
function spanDays(purchases: readonly { at: number }[]): number {
  let first = Infinity;
  let last = -Infinity;
  for (const { at } of purchases) {
    first = Math.min(first, at);
    last = Math.max(last, at);
  }
  return purchases.length === 0 ? 0 : Math.ceil((last - first) / 86_400_000);
}

async function batchRun(sentEvents: number, archiverCaughtUp: boolean, datasetDays: number): Promise<void> {
  say(`▶ batch run → POST ${batchUrl}/batch/runs`);
  let runId: string;
  for (;;) {
    const res = await fetch(`${batchUrl}/batch/runs`, { method: 'POST', headers: { authorization: dashboardAuth } });
    const answer = (await res.json()) as { runId?: string; message?: string };
    if (res.status === 202) {
      runId = answer.runId!;
      break;
    }
    if (res.status === 409) {
      // A run that began before the last events were archived would miss them: let it finish, then start one.
      say(`  run ${answer.runId} is already going; waiting for it first`);
      await waitForRun(answer.runId!);
      continue;
    }
    throw new LoadRequestError(
      `POST ${batchUrl}/batch/runs answered ${res.status}${res.status === 401 ? ' (check DASHBOARD_USER / DASHBOARD_PASSWORD)' : ''}`,
      res.status,
      JSON.stringify(answer),
    );
  }
  const run = await waitForRun(runId);
  const s = run.stats;
  say(
    `  run ${runId} ${run.status}${run.published ? ' and published' : ''}: ${s.eventsRead ?? '?'} events read, ${s.users ?? '?'} users, ` +
      `${s.items ?? '?'} items, ${s.similarityPairs ?? '?'} similar pairs in ${s.durationMs === undefined ? '?' : `${(s.durationMs / 1000).toFixed(1)} s`}`,
  );
  if (run.status === 'failed')
    throw new LoadRequestError(`batch run ${runId} failed: ${s.error ?? 'no reason given'}`, undefined, JSON.stringify(run));
  if (s.eventsRead !== undefined && s.eventsRead < sentEvents) {
    const horizon = s.historyDays ?? 365;
    const why = !archiverCaughtUp
      ? 'the archiver had not stored all of them when the run began; run again (nothing is duplicated) once it has caught up'
      : `a run reads the ${horizon} days (BATCH_HISTORY_DAYS) before the newest archived event and this file spans ${datasetDays} days ` +
        '(newer events in the same database, from the demo shop or npm run simulate, move that window further away); ' +
        'a batch service started with a larger BATCH_HISTORY_DAYS reads all of it';
    say(`  note: the run read ${s.eventsRead} of the ${sentEvents} events loaded: ${why}.`);
  }
}
