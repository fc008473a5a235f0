/**
 * The operator tools `npm run load` and `npm run simulate`, run as operators run them (processes,
 * over the public APIs) against the four services on a database, topic and key prefix of their
 * own; and the pure traffic and mapping code behind them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPgPool, type PgPool } from '@lambdarec/clients';
import { runMigrations } from '@lambdarec/stores';
import { createTestDatabase, createTestTopic, testLogger, waitFor, type TestDatabase, type TestTopic } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
// The operator tools are root scripts, in no Nx project (so no vitest of their own runs tests beside
// them); their pure parts are tested here until tools/load and tools/simulate become a project.
/* eslint-disable @nx/enforce-module-boundaries */
import { catalogOf, chunks, decideRetry, donePrefix, eventIdFor, MAX_ATTEMPTS, nameBasedUuid, purchaseEventOf } from '../../tools/load/retail-to-api.js';
import { sumMetric } from '../../tools/simulate/prometheus-text.js';
import {
  createProductPicker,
  createShopperPool,
  eventsDue,
  formatLiveLine,
  percentile,
  planVisit,
  seededRandom,
  type PlannedEvent,
  type TrafficFigures,
} from '../../tools/simulate/traffic.js';
/* eslint-enable @nx/enforce-module-boundaries */
import { isolatedServicesEnv, startService, WORKSPACE_ROOT, type AppName, type RunningService } from './harness.js';

describe('simulate traffic (pure)', () => {
  const catalog = Array.from({ length: 50 }, (_, i) => ({ productId: `p${i}`, price: i + 1 }));

  it('plans visits in funnel order: a click follows its view, a cart its click, purchases only of carted products', () => {
    const random = seededRandom(7);
    const pick = createProductPicker(catalog, random);
    for (let n = 0; n < 2_000; n++) {
      const visit = planVisit(pick, random);
      expect(visit[0]!.type).toBe('view');
      const carted = new Set<string>();
      visit.forEach((event, i) => {
        const before = visit[i - 1];
        if (event.type === 'click') expect(before).toEqual({ type: 'view', productId: event.productId });
        if (event.type === 'add_to_cart') {
          expect(before).toEqual({ type: 'click', productId: event.productId });
          carted.add(event.productId);
        }
        if (event.type === 'purchase') {
          expect(carted.has(event.productId)).toBe(true);
          expect(event.value).toBe(Number(event.productId.slice(1)) + 1);
        }
      });
    }
  });

  it('most shoppers drop off early: far more view than click, click than cart, cart than buy', () => {
    const random = seededRandom(11);
    const pick = createProductPicker(catalog, random);
    const reached = { view: 0, click: 0, add_to_cart: 0, purchase: 0 };
    const visits = 10_000;
    for (let n = 0; n < visits; n++) for (const type of new Set(planVisit(pick, random).map((e) => e.type))) reached[type]++;
    expect(reached.view).toBe(visits);
    expect(reached.click / visits).toBeGreaterThan(0.5);
    expect(reached.add_to_cart / visits).toBeGreaterThan(0.05);
    expect(reached.add_to_cart / visits).toBeLessThan(0.25);
    expect(reached.purchase / visits).toBeGreaterThan(0.01);
    expect(reached.purchase / visits).toBeLessThan(0.08);
  });

  it('picks a few products much more often than the rest', () => {
    const random = seededRandom(3);
    const pick = createProductPicker(catalog, random);
    const counts = new Map<string, number>();
    for (let n = 0; n < 20_000; n++) {
      const { productId } = pick();
      counts.set(productId, (counts.get(productId) ?? 0) + 1);
    }
    const sorted = [...counts.values()].sort((a, b) => b - a);
    expect(sorted[0]!).toBeGreaterThan(10 * sorted.at(-1)!);
    expect(counts.size).toBe(catalog.length);
  });

  it('paces by the total since the start, so the rate holds however the ticks fall', () => {
    expect(eventsDue(20, 0, 0)).toBe(0);
    expect(eventsDue(20, 1_000, 0)).toBe(20);
    expect(eventsDue(20, 1_049, 20)).toBe(0);
    expect(eventsDue(20, 1_050, 20)).toBe(1);
    expect(eventsDue(20, 500, 15)).toBe(0);
    expect(eventsDue(0.5, 4_000, 1)).toBe(1);
  });

  it("hands out each shopper's events in order, one at a time after a think time, and samples every Nth shopper", () => {
    const visit: PlannedEvent[] = [
      { type: 'view', productId: 'a' },
      { type: 'click', productId: 'a' },
      { type: 'view', productId: 'b' },
    ];
    const pool = createShopperPool({ plan: () => [...visit], random: () => 0.5, newUserId: (n) => `u${n}`, sampleEvery: 2, thinkTimeMs: [1_000, 1_000] });
    const first = pool.take(0, 3);
    expect(first.map((o) => [o.shopper.userId, o.event.type, o.first, o.shopper.sampled])).toEqual([
      ['u1', 'view', true, false],
      ['u2', 'view', true, true],
      ['u3', 'view', true, false],
    ]);
    // Nobody is ready again before their think time: newcomers take the events.
    expect(pool.take(500, 1).map((o) => o.shopper.userId)).toEqual(['u4']);
    const later = pool.take(1_000, 4);
    expect(later.map((o) => [o.shopper.userId, o.event.type, o.first])).toEqual([
      ['u1', 'click', false],
      ['u2', 'click', false],
      ['u3', 'click', false],
      ['u5', 'view', true],
    ]);
    pool.take(2_000, 3);
    expect(pool.active).toBe(2);
  });

  it('nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([5], 99)).toBe(5);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
  });

  it('sums a metric over its label sets and ignores metrics that share its prefix', () => {
    const text = [
      '# HELP lrec_speed_consumer_lag Records on the partition …',
      '# TYPE lrec_speed_consumer_lag gauge',
      'lrec_speed_consumer_lag{partition="0"} 3',
      'lrec_speed_consumer_lag{partition="1"} 4',
      'lrec_speed_consumer_lag_seconds 99',
    ].join('\n');
    expect(sumMetric(text, 'lrec_speed_consumer_lag')).toBe(7);
    expect(sumMetric(text, 'lrec_archive_events_total')).toBeUndefined();
  });

  it('the live line shows rate, answers, lag and the visibility percentiles', () => {
    const figures: TrafficFigures = {
      elapsedMs: 3_000,
      durationMs: 10_000,
      eventsPerSecond: 19.6,
      sent: 60,
      accepted: 58,
      clientErrors: 2,
      serverErrors: 0,
      networkErrors: 0,
      speedLag: 0,
      visibleMs: [80, 120, 95],
      notVisible: 0,
    };
    expect(formatLiveLine(figures)).toBe('20 ev/s  202: 58  4xx: 2  5xx: 0  speed lag: 0  visible p50 95 ms p99 120 ms (n=3)');
  });
});

describe('load mapping (pure)', () => {
  const line = { invoice: '536365', productId: '85123A', description: 'WHITE HANGING HEART T-LIGHT HOLDER', quantity: 6, at: Date.parse('2010-12-01T08:26:00Z'), unitPrice: 2.55, customerId: '17850', line: 1 };

  it('derives name-based UUIDs (RFC 9562 v5) and so the same eventId for the same invoice line', () => {
    expect(nameBasedUuid('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(eventIdFor(line)).toBe(eventIdFor({ ...line }));
    expect(eventIdFor(line)).not.toBe(eventIdFor({ ...line, line: 2 }));
  });

  it('an invoice line becomes a purchase by its customer at its time, worth quantity × price in pence', () => {
    expect(purchaseEventOf(line)).toEqual({
      eventId: eventIdFor(line),
      userId: '17850',
      type: 'purchase',
      productId: '85123A',
      timestamp: '2010-12-01T08:26:00.000Z',
      value: 15.3,
    });
  });

  it('the catalog takes each product’s latest price and latest non-empty title, and no category', () => {
    const later = { ...line, at: line.at + 60_000, line: 5, unitPrice: 2.65, description: '' };
    expect(catalogOf([later, line])).toEqual([{ productId: '85123A', title: 'WHITE HANGING HEART T-LIGHT HOLDER', price: 2.65 }]);
    expect(catalogOf([{ ...line, description: '' }])).toEqual([{ productId: '85123A', price: 2.55 }]);
  });

  it('retries 429 after Retry-After, 5xx and lost answers with backoff, and stops on other 4xx', () => {
    expect(decideRetry(202, 1, null)).toEqual({ action: 'done' });
    expect(decideRetry(429, 1, '17')).toEqual({ action: 'retry', delayMs: 17_000, rateLimited: true });
    expect(decideRetry(429, 50, null)).toMatchObject({ action: 'retry', rateLimited: true });
    expect(decideRetry(503, 1, '5')).toEqual({ action: 'retry', delayMs: 5_000, rateLimited: false });
    expect(decideRetry(undefined, 3, null)).toEqual({ action: 'retry', delayMs: 2_000, rateLimited: false });
    expect(decideRetry(503, MAX_ATTEMPTS, null)).toEqual({ action: 'stop' });
    expect(decideRetry(400, 1, null)).toEqual({ action: 'stop' });
    expect(decideRetry(401, 1, null)).toEqual({ action: 'stop' });
  });

  it('cuts into requests and counts the finished prefix', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(donePrefix(new Set([0, 1, 3]))).toBe(2);
    expect(donePrefix(new Set([1, 2]))).toBe(0);
  });
});

// A few invoices in the UCI layout: two customers in the UK, one in France, a quoted description
// with a comma, a lower-case stock code, and rows cleaning drops (postage, a cancellation, no customer).
const RETAIL_CSV = `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536365,84406B,"CREAM CUPID HEARTS COAT HANGER, LARGE",8,2010-12-01 08:26:00,2.75,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom
536367,85123A,WHITE HANGING HEART T-LIGHT HOLDER,32,2010-12-01 08:34:00,2.55,13047.0,United Kingdom
536367,22633,HAND WARMER UNION JACK,6,2010-12-01 08:34:00,1.85,13047.0,United Kingdom
536367,71053,WHITE METAL LANTERN,6,2010-12-01 08:34:00,3.39,13047.0,United Kingdom
536367,POST,POSTAGE,1,2010-12-01 08:34:00,18.00,13047.0,United Kingdom
C536379,22633,HAND WARMER UNION JACK,-1,2010-12-01 09:41:00,1.85,13047.0,United Kingdom
536368,22960,JAM MAKING SET WITH JARS,6,2010-12-01 08:34:00,4.25,,United Kingdom
536370,22960,JAM MAKING SET WITH JARS,6,2010-12-02 10:00:00,3.75,12583.0,France
536370,84406b,"CREAM CUPID HEARTS COAT HANGER, LARGE",4,2010-12-02 10:00:00,2.95,12583.0,France
536371,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-02 11:00:00,2.65,12583.0,France
`;
const CLEAN_LINES = 10;

const log = testLogger('operator-tools');
const DASHBOARD = { user: 'ops', password: 'operator-tools-password' };
const CATALOG_API_KEY = 'operator-tools-catalog-key';
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
let workDir: string;
let csvFile: string;
const services: Partial<Record<AppName, RunningService>> = {};
const url = (name: AppName) => services[name]!.url;

/** Runs a tool the way `npm run <tool>` does, with only the given environment. */
function runTool(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: WORKSPACE_ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

const loadArgs = () => [csvFile, '--ingest-url', url('ingest'), '--batch-url', url('batch')];
const loadEnv = { CATALOG_API_KEY, DASHBOARD_USER: DASHBOARD.user, DASHBOARD_PASSWORD: DASHBOARD.password };
const archived = async () =>
  (await pool.query<{ n: number; ids: number }>('SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids FROM events')).rows[0]!;
const succeededRuns = async () => (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_runs WHERE status = 'succeeded'")).rows[0]!.n;

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
  db = await createTestDatabase(databaseUrl, (dbUrl) => runMigrations({ databaseUrl: dbUrl, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'e2e-operator-tools' });
  workDir = mkdtempSync(path.join(tmpdir(), 'lambdarec-load-'));
  csvFile = path.join(workDir, 'online_retail_slice.csv');
  writeFileSync(csvFile, RETAIL_CSV);
  const env = isolatedServicesEnv('e2e-tools', { databaseUrl: db.url, redisUrl, kafkaBrokers, topic: topic.topic }, { dashboard: DASHBOARD, catalogApiKey: CATALOG_API_KEY });
  const started = await Promise.all((['ingest', 'speed', 'batch', 'serving'] as const).map((name) => startService(name, env)));
  for (const service of started) services[service.name] = service;
}, 180_000);

afterAll(async () => {
  await Promise.all(Object.values(services).map((s) => s.stop()));
  await pool?.end();
  await db?.drop();
  await topic?.remove();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

describe('npm run load and npm run simulate against running services', () => {
  it('load puts the catalog and every clean invoice line in once through the APIs, then a batch run succeeds', async () => {
    const { code, output } = await runTool('tools/load.ts', loadArgs(), loadEnv);
    expect(output).toMatch(/run [0-9a-f-]+ succeeded and published/);
    expect(code).toBe(0);
    expect(await archived()).toEqual({ n: CLEAN_LINES, ids: CLEAN_LINES });
    const { rows: products } = await pool.query<{ product_id: string; title: string; price: number; category: string | null }>(
      'SELECT product_id, title, price, category FROM products ORDER BY product_id',
    );
    expect(products).toEqual([
      { product_id: '22633', title: 'HAND WARMER UNION JACK', price: 1.85, category: null },
      { product_id: '22960', title: 'JAM MAKING SET WITH JARS', price: 3.75, category: null },
      { product_id: '71053', title: 'WHITE METAL LANTERN', price: 3.39, category: null },
      { product_id: '84406B', title: 'CREAM CUPID HEARTS COAT HANGER, LARGE', price: 2.95, category: null },
      { product_id: '85123A', title: 'WHITE HANGING HEART T-LIGHT HOLDER', price: 2.65, category: null },
    ]);
    const { rows: purchase } = await pool.query<{ user_id: string; type: string; value: number; event_time: Date }>(
      "SELECT user_id, type, value, event_time FROM events WHERE product_id = '85123A' AND user_id = '13047'",
    );
    expect(purchase).toEqual([{ user_id: '13047', type: 'purchase', value: 81.6, event_time: new Date('2010-12-01T08:34:00Z') }]);
    expect(await succeededRuns()).toBe(1);
  });

  it('a second load of the same file stores nothing new (the eventIds repeat) and runs the batch again', async () => {
    const { code, output } = await runTool('tools/load.ts', loadArgs(), loadEnv);
    expect(output).toMatch(/run [0-9a-f-]+ succeeded/);
    expect(code).toBe(0);
    expect(await archived()).toEqual({ n: CLEAN_LINES, ids: CLEAN_LINES });
    expect(await succeededRuns()).toBe(2);
  });

  it('load names the missing file and stops', async () => {
    const missing = path.join(workDir, 'nowhere.csv');
    const { code, output } = await runTool('tools/load.ts', [missing, '--ingest-url', url('ingest')], loadEnv);
    expect(code).toBe(2);
    expect(output).toContain(missing);
  });

  it('simulate sends shoppers over the loaded catalog, all accepted, and sums up', async () => {
    const { code, output } = await runTool(
      'tools/simulate.ts',
      ['--rate', '8', '--duration', '3', '--sample-every', '2', '--seed', '1', '--ingest-url', url('ingest'), '--serving-url', url('serving'), '--speed-url', url('speed')],
      { DATABASE_URL: db.url },
    );
    const summary = /^summary: (\d+) events .* answers 202: (\d+), 4xx: (\d+), 5xx: (\d+), no answer: (\d+); speed lag: (\d+|\?); session visible after p50 (\d+) ms, p99 (\d+) ms \((\d+) sampled/m.exec(output);
    expect(summary, output).not.toBeNull();
    const [, sent, accepted, clientErrors, serverErrors, noAnswer, , , , sampled] = summary!.map(Number);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBe(sent);
    expect({ clientErrors, serverErrors, noAnswer }).toEqual({ clientErrors: 0, serverErrors: 0, noAnswer: 0 });
    expect(sampled).toBeGreaterThan(0);
    expect(code).toBe(0);
    // The shoppers' events went the whole way: the archiver keeps them next to the loaded history.
    await waitFor(
      async () => ((await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE user_id LIKE 'sim-%'")).rows[0]!.n === sent ? true : undefined),
      { what: "the simulated shoppers' events archived", timeoutMs: 30_000 },
    );
  });
});
