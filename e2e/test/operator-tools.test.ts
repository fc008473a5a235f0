/**
 * The operator tools `npm run load` and `npm run simulate`, run as operators run them (processes,
 * over the public APIs) against the four services on a database, topic and key prefix of their
 * own. Their pure parts are tested beside them, in tools/load and tools/simulate.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPgPool, type PgPool } from '@lambdarec/clients';
import { runMigrations } from '@lambdarec/stores';
import { createTestDatabase, createTestTopic, testLogger, waitFor, type TestDatabase, type TestTopic } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isolatedServicesEnv, runTool, startService, type AppName, type RunningService } from './harness.js';

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

const LOAD = 'tools/load/src/main.ts';
const SIMULATE = 'tools/simulate/src/main.ts';
const loadArgs = () => [csvFile, '--ingest-url', url('ingest'), '--batch-url', url('batch')];
const loadEnv = { CATALOG_API_KEY, DASHBOARD_USER: DASHBOARD.user, DASHBOARD_PASSWORD: DASHBOARD.password };
const archived = async () =>
  (await pool.query<{ n: number; ids: number }>('SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids FROM events')).rows[0]!;
const succeededRuns = async () =>
  (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_runs WHERE status = 'succeeded'")).rows[0]!.n;

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
  db = await createTestDatabase(databaseUrl, (dbUrl) => runMigrations({ databaseUrl: dbUrl, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'e2e-operator-tools' });
  workDir = mkdtempSync(path.join(tmpdir(), 'lambdarec-load-'));
  csvFile = path.join(workDir, 'online_retail_slice.csv');
  writeFileSync(csvFile, RETAIL_CSV);
  const env = isolatedServicesEnv(
    'e2e-tools',
    { databaseUrl: db.url, redisUrl, kafkaBrokers, topic: topic.topic },
    { dashboard: DASHBOARD, catalogApiKey: CATALOG_API_KEY },
  );
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
    const { code, output } = await runTool(LOAD, loadArgs(), loadEnv);
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
    const { code, output } = await runTool(LOAD, loadArgs(), loadEnv);
    expect(output).toMatch(/run [0-9a-f-]+ succeeded/);
    expect(code).toBe(0);
    expect(await archived()).toEqual({ n: CLEAN_LINES, ids: CLEAN_LINES });
    expect(await succeededRuns()).toBe(2);
  });

  it('load names the missing file and stops', async () => {
    const missing = path.join(workDir, 'nowhere.csv');
    const { code, output } = await runTool(LOAD, [missing, '--ingest-url', url('ingest')], loadEnv);
    expect(code).toBe(2);
    expect(output).toContain(missing);
  });

  it('simulate sends shoppers over the loaded catalog, all accepted, and sums up', async () => {
    const { code, output } = await runTool(
      SIMULATE,
      [
        '--rate',
        '8',
        '--duration',
        '3',
        '--sample-every',
        '2',
        '--seed',
        '1',
        '--ingest-url',
        url('ingest'),
        '--serving-url',
        url('serving'),
        '--speed-url',
        url('speed'),
      ],
      { DATABASE_URL: db.url },
    );
    const summary =
      /^summary: (\d+) events .* answers 202: (\d+), 4xx: (\d+), 5xx: (\d+), no answer: (\d+); speed lag: (\d+|\?); session visible after p50 (\d+) ms, p99 (\d+) ms \((\d+) sampled/m.exec(
        output,
      );
    expect(summary, output).not.toBeNull();
    const [, sent, accepted, clientErrors, serverErrors, noAnswer, , , , sampled] = summary!.map(Number);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBe(sent);
    expect({ clientErrors, serverErrors, noAnswer }).toEqual({ clientErrors: 0, serverErrors: 0, noAnswer: 0 });
    expect(sampled).toBeGreaterThan(0);
    expect(code).toBe(0);
    // The shoppers' events went the whole way: the archiver keeps them next to the loaded history.
    await waitFor(
      async () =>
        (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE user_id LIKE 'sim-%'")).rows[0]!.n === sent
          ? true
          : undefined,
      { what: "the simulated shoppers' events archived", timeoutMs: 30_000 },
    );
  });
});
