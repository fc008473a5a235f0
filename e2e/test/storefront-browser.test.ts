/// <reference lib="dom" />
// The page functions below run in the browser.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createPgPool, type PgPool } from '@lambdarec/clients';
import { runMigrations } from '@lambdarec/stores';
import { demoCatalog, demoEvents } from '@lambdarec/local-stack';
import {
  createTestDatabase,
  createTestTopic,
  testLogger,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@lambdarec/testing';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromiumExecutable } from './chromium.js';
import { freePort, isolatedServicesEnv, startService, WORKSPACE_ROOT, type AppName, type RunningService } from './harness.js';

const log = testLogger('e2e-storefront');
const DASHBOARD = { user: 'ops', password: 'e2e-password' };
const CATALOG_API_KEY = 'e2e-catalog-api-key';
const SHOPPER = 'demo-user-3';
const ARTIFACTS = path.join(WORKSPACE_ROOT, 'reports/storefront');
const PANEL = '[data-panel="recommended"]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
let browser: Browser | undefined;
/** Reads the topic: the shopper's events ingest acknowledged, whatever the archive keeps of them. */
let reader: Consumer | undefined;
const published: Record<string, unknown>[] = [];
const services: Partial<Record<AppName, RunningService>> = {};
const url = (name: AppName) => services[name]!.url;

/** The product ids in "Recommended for you", top first. */
const recommended = (page: Page) =>
  page.locator(`${PANEL} li.card`).evaluateAll((cards) => cards.map((card) => (card as HTMLElement).dataset['productId']!));

const recommendedCategories = (page: Page) =>
  page.locator(`${PANEL} li.card`).evaluateAll((cards) => cards.map((card) => (card as HTMLElement).dataset['category'] ?? ''));

/** Waits until the page script has replaced the panel at least `count` times. */
const panelRefreshed = (page: Page, count: number) =>
  page.waitForFunction(
    ([selector, n]) => Number(document.querySelector<HTMLElement>(selector)?.dataset['refreshes'] ?? 0) >= n,
    [PANEL, count] as const,
    {
      timeout: 15_000,
    },
  );

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
  const [executablePath] = await Promise.all([
    Promise.resolve().then(chromiumExecutable),
    (async () => {
      topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
      db = await createTestDatabase(databaseUrl, (dbUrl) => runMigrations({ databaseUrl: dbUrl, log }));
    })(),
  ]);
  pool = createPgPool({ url: db.url, log, applicationName: 'e2e-storefront' });
  reader = new Kafka({ brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueName('e2e-shop-reader') });
  await reader.connect();
  await reader.subscribe({ topic: topic.topic, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      const event = JSON.parse(message.value!.toString()) as Record<string, unknown>;
      if (event['userId'] === SHOPPER) published.push(event);
    },
  });
  // The storefront's address must be known before ingest starts: it is the origin ingest's CORS allows.
  const storefrontPort = await freePort();
  const env = isolatedServicesEnv(
    'e2e-shop',
    { databaseUrl: db.url, redisUrl, kafkaBrokers, topic: topic.topic },
    { dashboard: DASHBOARD, catalogApiKey: CATALOG_API_KEY },
    {
      STOREFRONT_ORIGINS: `http://127.0.0.1:${storefrontPort}`,
      // The demo history is too small to show that anything is re-bought: every purchase is then
      // hidden, which is what this test looks for (re-buying has its own tests in serving).
      REBUY_MIN_BUYERS: '1000',
    },
  );
  const started = await Promise.all((['ingest', 'speed', 'batch', 'serving'] as const).map((name) => startService(name, env)));
  for (const service of started) services[service.name] = service;

  // The demo shop, loaded through the public APIs as npm start does, and one published run.
  const put = await fetch(`${url('ingest')}/products`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${CATALOG_API_KEY}` },
    body: JSON.stringify(demoCatalog()),
  });
  expect(put.status).toBe(200);
  const events = demoEvents({ users: 24 });
  for (let i = 0; i < events.length; i += 500) {
    const body = JSON.stringify({ events: events.slice(i, i + 500) });
    // A month of history: a history import, with the operator's key.
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${CATALOG_API_KEY}` };
    expect((await fetch(`${url('ingest')}/events`, { method: 'POST', headers, body })).status).toBe(202);
  }
  await waitFor(
    async () =>
      (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n === events.length ? true : undefined,
    {
      what: 'the demo events archived',
      timeoutMs: 30_000,
    },
  );
  const auth = `Basic ${Buffer.from(`${DASHBOARD.user}:${DASHBOARD.password}`).toString('base64')}`;
  const { runId } = (await (await fetch(`${url('batch')}/batch/runs`, { method: 'POST', headers: { authorization: auth } })).json()) as {
    runId: string;
  };
  const run = await waitFor(
    async () => {
      const r = (await (await fetch(`${url('batch')}/batch/runs/${runId}`, { headers: { authorization: auth } })).json()) as {
        status: string;
      };
      return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
    },
    { what: 'the batch run', timeoutMs: 60_000 },
  );
  expect(run.status).toBe('succeeded');
  await waitFor(
    async () => {
      const answer = (await (await fetch(`${url('serving')}/recommendations/${SHOPPER}`)).json()) as {
        sources: { batchRunId: string | null };
      };
      return answer.sources.batchRunId === runId ? true : undefined;
    },
    { what: 'serving to pick up the run' },
  );

  services.storefront = await startService(
    'storefront',
    { DATABASE_URL: db.url, SERVING_URL: url('serving'), INGEST_URL: url('ingest') },
    { port: storefrontPort },
  );
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await reader?.disconnect();
  const codes = await Promise.all(Object.values(services).map(async (s) => [s.name, await s.stop(), s.output] as const));
  await pool?.end();
  await db?.drop();
  await topic?.remove();
  // Every service shuts down cleanly on SIGTERM.
  for (const [name, code, output] of codes) expect(code, `${name} exited ${code}:\n${output().slice(-4000)}`).toBe(0);
});

describe('the storefront in a browser, over the whole system', () => {
  let page: Page;

  it('opens the shop as a demo shopper, with recommendations and their reasons in plain words', async () => {
    page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const failures: string[] = [];
    page.on('pageerror', (err) => failures.push(err.message));
    page.on('requestfailed', (request) => failures.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
    await page.goto(url('storefront'));
    await page.waitForSelector('body[data-ready="true"]');
    await page.selectOption('#shopper-switch', SHOPPER);
    await panelRefreshed(page, 1);
    expect(await page.locator('.grid li.card').count()).toBe(demoCatalog().length);
    expect((await recommended(page)).length).toBeGreaterThan(0);
    const reasons = await page.locator(`${PANEL} .reasons li`).allTextContents();
    expect(reasons.length).toBeGreaterThan(0);
    // Plain words, no reason codes such as batch:similar-to:tea-3.
    for (const reason of reasons) expect(reason).not.toMatch(/^(batch|session):|^popular$/);
    expect(failures).toEqual([]);
  });

  it('a purchase takes the product out of "Recommended for you", without reloading the page', async () => {
    const [target] = await recommended(page);
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    const before = Number(await page.locator(PANEL).getAttribute('data-refreshes'));
    await page.locator(`${PANEL} li.card[data-product-id="${target}"] button[data-action="purchase"]`).click();
    await expect.poll(() => page.locator('#toast').textContent()).toMatch(/^Thank you!/);
    await panelRefreshed(page, before + 1);
    await page.waitForFunction(
      ([selector, id]) => document.querySelector(`${selector} li.card[data-product-id="${id}"]`) === null,
      [PANEL, target!] as const,
      {
        timeout: 15_000,
      },
    );
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    const purchase = await waitFor(
      async () =>
        (await pool.query('SELECT 1 FROM events WHERE user_id = $1 AND product_id = $2 AND type = $3', [SHOPPER, target, 'purchase']))
          .rows[0],
      { what: 'the purchase archived' },
    );
    expect(purchase).toBeDefined();
  });

  it("logs an impression of the list as shown, named by the answer's recommendationId, and a click on it with recommendationId and position", async () => {
    // Serving names every answer (docs/design.md, "Closing the loop"); the page carries the id on the list.
    const recommendationId = await page.locator(`${PANEL} ol.items`).getAttribute('data-recommendation-id');
    expect(recommendationId).toMatch(UUID);
    const shown = await recommended(page);
    const impression = await waitFor(
      () => published.find((event) => event['type'] === 'impression' && event['recommendationId'] === recommendationId),
      { what: 'the impression of the list on the topic' },
    );
    expect(impression).toMatchObject({ userId: SHOPPER, productIds: shown });
    expect(impression['eventId']).toMatch(UUID);

    const position = Math.min(1, shown.length - 1);
    await page.locator(`${PANEL} li.card`).nth(position).locator('a.product-link').click();
    await page.waitForURL('**/products/**');
    const click = await waitFor(
      () => published.find((event) => event['type'] === 'click' && event['recommendationId'] === recommendationId),
      { what: 'the click on the topic' },
    );
    expect(click).toMatchObject({ userId: SHOPPER, productId: shown[position], position });
    // Back to the shop, as the next test expects.
    await page.goto(url('storefront'));
    await page.waitForSelector('body[data-ready="true"]');
  });

  it('browsing a category lifts its products into "Recommended for you"', async () => {
    // The category least present in the list now (ideally absent), among those with products in stock.
    const shown = await recommendedCategories(page);
    const inStock = [
      ...new Set(
        demoCatalog()
          .filter((p) => p.inStock)
          .map((p) => p.category),
      ),
    ];
    const category = inStock.sort((a, b) => shown.filter((c) => c === a).length - shown.filter((c) => c === b).length)[0]!;
    const shownBefore = shown.filter((c) => c === category).length;

    await page.locator(`nav.categories a[data-category="${category}"]`).click();
    await page.waitForURL(`**/categories/${category}`);
    for (const position of [0, 1]) {
      if (position > 0) await page.goBack();
      await page.locator('.grid li.card a.product-link').nth(position).click();
      await page.waitForURL('**/products/**');
      // The product page posts its view, then refreshes the panel once the answer changes.
      await page.waitForSelector('body[data-ready="true"]');
    }
    await page.waitForFunction(
      ([selector, name, n]) => document.querySelectorAll(`${selector} li.card[data-category="${name}"]`).length > n,
      [PANEL, category, shownBefore] as const,
      { timeout: 20_000 },
    );
    const reasons = await page.locator(`${PANEL} li.card[data-category="${category}"] .reasons li`).allTextContents();
    expect(reasons).toContain(`You are browsing ${category}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'storefront-product-page.png') });
    await page.goto(url('storefront'));
    await page.screenshot({ path: path.join(ARTIFACTS, 'storefront-shop.png') });
  });

  it('the storefront reports ready and serves metrics, like every service', async () => {
    expect(((await (await fetch(`${url('storefront')}/readyz`)).json()) as { status: string }).status).toBe('ready');
    expect(await (await fetch(`${url('storefront')}/metrics`)).text()).toMatch(
      /http_request_duration_seconds_count\{[^}]*route="\/fragments\/recommended"/,
    );
  });
});
