/**
 * The traffic mode of `npm run simulate` (see main.ts): live shopper traffic through ingest's
 * `POST /events`, with the speed layer's lag and how soon a new shopper's session shows in serving.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { EVENT_TYPES, type EventType } from '@lambdarec/contracts';
import { localInfrastructure } from '@lambdarec/local-stack';
import { readCatalog } from './catalog.js';
import { sumMetric } from './prometheus-text.js';
import {
  createProductPicker,
  createShopperPool,
  eventsDue,
  formatDurationBar,
  formatLiveLine,
  formatSummary,
  planVisit,
  seededRandom,
  type Outgoing,
  type SimulatedProduct,
  type TrafficFigures,
} from './traffic.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const env = process.env;
const local = (port: string | undefined, fallback: number) => `http://127.0.0.1:${port ?? fallback}`;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '20' },
    duration: { type: 'string', default: '60' },
    products: { type: 'string' },
    'sample-every': { type: 'string', default: '10' },
    seed: { type: 'string' },
    // The ports `npm start` uses, moved the same way it moves them (INGEST_PORT, …).
    'ingest-url': { type: 'string', default: local(env['INGEST_PORT'], 3001) },
    'serving-url': { type: 'string', default: local(env['SERVING_PORT'], 3000) },
    'speed-url': { type: 'string', default: local(env['SPEED_PORT'], 3004) },
  },
});
const rate = Number(values.rate);
const durationMs = Number(values.duration) * 1000;
const sampleEvery = Number(values['sample-every']);
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (
  !(rate > 0) ||
  !(durationMs > 0) ||
  !Number.isInteger(sampleEvery) ||
  sampleEvery < 1 ||
  (seed !== undefined && !Number.isInteger(seed))
) {
  process.stderr.write('simulate: --rate (events/s) and --duration (s) take positive numbers, --sample-every and --seed integers\n');
  process.exit(2);
}
const urls = { ingest: values['ingest-url']!, serving: values['serving-url']!, speed: values['speed-url']! };
const eventHeaders: Record<string, string> = {
  'content-type': 'application/json',
  ...(env['EVENTS_WRITE_KEY'] === undefined ? {} : { 'x-write-key': env['EVENTS_WRITE_KEY'] }),
};

/** Up to this many requests wait for an answer at once; beyond it the rate falls behind and the live line says so. */
const MAX_IN_FLIGHT = 64;
const TICK_MS = 50;
const POLL_MS = 25;
const VISIBLE_TIMEOUT_MS = 30_000;
const SPEED_LAG_METRIC = 'lrec_speed_consumer_lag';

async function answers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(3_000) }).then(
    () => true,
    () => false,
  );
}

async function products(): Promise<SimulatedProduct[]> {
  if (values.products !== undefined) {
    return values.products
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== '')
      .map((productId) => ({ productId }));
  }
  const databaseUrl = env['DATABASE_URL'] ?? localInfrastructure()['DATABASE_URL'];
  if (databaseUrl === undefined) throw new Error('no DATABASE_URL to read the catalog from; set it, or pass --products');
  return readCatalog(databaseUrl);
}

for (const [name, url] of [
  ['ingest', urls.ingest],
  ['serving', urls.serving],
] as const) {
  if (!(await answers(`${url}/healthz`))) {
    process.stderr.write(`simulate: ${name} does not answer at ${url}; start the system with npm start, or pass --${name}-url\n`);
    process.exit(1);
  }
}
const catalog = await products();
if (catalog.length === 0) {
  process.stderr.write(
    'simulate: the catalog has no product in stock; run npm start (demo shop) or npm run load first, or pass --products\n',
  );
  process.exit(1);
}

const random = seed === undefined ? Math.random : seededRandom(seed);
const pick = createProductPicker(catalog, random);
// A tag per run, so shoppers of two runs are never the same user.
const run = randomUUID().slice(0, 8);
const pool = createShopperPool({ plan: () => planVisit(pick, random), random, newUserId: (n) => `sim-${run}-${n}`, sampleEvery });

const visibleMs: number[] = [];
const figures: TrafficFigures = {
  elapsedMs: 0,
  durationMs,
  eventsPerSecond: 0,
  sent: 0,
  accepted: 0,
  clientErrors: 0,
  serverErrors: 0,
  networkErrors: 0,
  speedLag: undefined,
  visibleMs,
  notVisible: 0,
};
const byType = Object.fromEntries(EVENT_TYPES.map((type) => [type, 0])) as Record<EventType, number>;
const pending = new Set<Promise<void>>();
let inFlight = 0;
let stopping = false;
let interrupted = false;

const track = (work: Promise<void>) => {
  pending.add(work);
  void work.finally(() => pending.delete(work));
};

/** Polls serving for a new shopper until the speed layer's session shows up in the answer. */
async function watchVisibility(userId: string, postedAt: number): Promise<void> {
  const deadline = postedAt + VISIBLE_TIMEOUT_MS;
  while (!interrupted) {
    try {
      const res = await fetch(`${urls.serving}/recommendations/${encodeURIComponent(userId)}?limit=1`, {
        signal: AbortSignal.timeout(5_000),
      });
      if (res.ok && ((await res.json()) as { sources?: { session?: boolean } }).sources?.session === true) {
        visibleMs.push(performance.now() - postedAt);
        return;
      }
    } catch {
      // serving busy or restarting: the deadline decides
    }
    if (performance.now() > deadline) {
      figures.notVisible++;
      return;
    }
    await sleep(POLL_MS);
  }
}

async function send({ shopper, event, first }: Outgoing): Promise<void> {
  inFlight++;
  byType[event.type]++;
  const postedAt = performance.now();
  try {
    const res = await fetch(`${urls.ingest}/events`, {
      method: 'POST',
      headers: eventHeaders,
      body: JSON.stringify({ eventId: randomUUID(), userId: shopper.userId, ...event }),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    if (res.status === 202) {
      figures.accepted++;
      if (first && shopper.sampled) track(watchVisibility(shopper.userId, postedAt));
    } else if (res.status >= 500) figures.serverErrors++;
    else figures.clientErrors++;
  } catch {
    figures.networkErrors++;
  } finally {
    inFlight--;
  }
}

async function readSpeedLag(): Promise<void> {
  try {
    const res = await fetch(`${urls.speed}/metrics`, { signal: AbortSignal.timeout(2_000) });
    figures.speedLag = res.ok ? sumMetric(await res.text(), SPEED_LAG_METRIC) : undefined;
  } catch {
    figures.speedLag = undefined;
  }
}

const tty = process.stdout.isTTY === true;
function show(final = false): void {
  const line = `${formatDurationBar(figures.elapsedMs, durationMs)}  ${formatLiveLine(figures)}`;
  if (tty) {
    // One line redrawn in place; cut to the terminal's width, as a wrapped line cannot be redrawn.
    const width = Math.max(20, (process.stdout.columns ?? 120) - 1);
    process.stdout.write(`\r\x1b[K${line.slice(0, width)}${final ? '\n' : ''}`);
  } else say(line);
}

process.on('SIGINT', () => {
  // A second Ctrl-C means "now".
  if (interrupted) process.exit(130);
  interrupted = true;
  stopping = true;
});

say(`simulate: ${rate} events/s for ${durationMs / 1000} s over ${catalog.length} products → ${urls.ingest}/events (Ctrl-C stops)`);
const started = performance.now();
let lastSecond = { at: 0, sent: 0 };
let lastPrinted = 0;
while (!stopping) {
  const elapsed = performance.now() - started;
  if (elapsed >= durationMs) break;
  const due = Math.min(eventsDue(rate, elapsed, figures.sent), MAX_IN_FLIGHT - inFlight);
  if (due > 0) {
    for (const outgoing of pool.take(elapsed, due)) track(send(outgoing));
    figures.sent += due;
  }
  if (elapsed - lastSecond.at >= 1_000) {
    figures.elapsedMs = elapsed;
    figures.eventsPerSecond = ((figures.sent - lastSecond.sent) * 1000) / (elapsed - lastSecond.at);
    lastSecond = { at: elapsed, sent: figures.sent };
    void readSpeedLag();
    if (tty || elapsed - lastPrinted >= 5_000) {
      lastPrinted = elapsed;
      show();
    }
  }
  await sleep(TICK_MS);
}
stopping = true;
figures.elapsedMs = performance.now() - started;

// Answers still on their way, and sampled sessions still to show, are part of the run (unless a
// person pressed Ctrl-C, who wants out now).
const drainUntil = performance.now() + (interrupted ? 2_000 : VISIBLE_TIMEOUT_MS);
// Loops because an answered first event adds its visibility watch to the set.
while (pending.size > 0 && performance.now() < drainUntil) {
  await Promise.race([Promise.allSettled([...pending]), sleep(drainUntil - performance.now())]);
}
await readSpeedLag();
show(true);
say(formatSummary(figures, pool.arrived, byType));
process.exitCode = figures.serverErrors + figures.networkErrors > 0 ? 1 : 0;
