/// <reference lib="dom" />
import { randomBytes, randomUUID } from 'node:crypto';
import { createPgPool, type PgPool } from '@lambdarec/clients';
import type { Experiment, ExperimentDefinition } from '@lambdarec/contracts';
import { encodeRecommendationId } from '@lambdarec/domain';
import { runMigrations } from '@lambdarec/stores';
import { createTestDatabase, createTestTopic, testLogger, type TestDatabase, type TestTopic } from '@lambdarec/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromiumExecutable } from './chromium.js';
import { isolatedServicesEnv, startService, type RunningService } from './harness.js';

// The operator's experiments page on batch, in headless Chromium: its table and chart, and
// experiments created and stopped from it (same-origin PUTs with the browser's credentials).

const log = testLogger('e2e-experiments-page');
const DASHBOARD = { user: 'ops', password: 'e2e-password' };
const AUTH = `Basic ${Buffer.from(`${DASHBOARD.user}:${DASHBOARD.password}`).toString('base64')}`;
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
let batch: RunningService<'batch'>;
let browser: Browser | undefined;

const SEEDED: ExperimentDefinition = {
  mode: 'ab',
  status: 'running',
  variants: [
    { name: 'control', weight: 1, strategy: 'lambda', params: {} },
    { name: 'popular', weight: 1, strategy: 'popular', params: {} },
  ],
};

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
  const [executablePath] = await Promise.all([
    Promise.resolve().then(chromiumExecutable),
    (async () => {
      topic = await createTestTopic(kafkaBrokers, { partitions: 1 });
      db = await createTestDatabase(databaseUrl, (dbUrl) => runMigrations({ databaseUrl: dbUrl, log }));
    })(),
  ]);
  pool = createPgPool({ url: db.url, log, applicationName: 'e2e-experiments-page' });
  batch = await startService(
    'batch',
    isolatedServicesEnv(
      'e2e-experiments-page',
      { databaseUrl: db.url, redisUrl, kafkaBrokers, topic: topic.topic },
      { dashboard: DASHBOARD, catalogApiKey: 'e2e-catalog-api-key' },
    ),
  );
  const res = await fetch(`${batch.url}/experiments/seeded`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body: JSON.stringify(SEEDED),
  });
  expect(res.status).toBe(200);
  const { tag } = (await res.json()) as Experiment;
  // A few archived lists and clicks over two hours, as the archiver writes them (the counting itself
  // is experiment-loop.test.ts's), so that the table has figures and the chart has points.
  for (const [variantIndex, userId, hoursAgo, clicked] of [
    [0, 'page-user-1', 2, true],
    [1, 'page-user-2', 2, false],
    [0, 'page-user-3', 1, false],
    [1, 'page-user-4', 1, true],
  ] as const) {
    const recommendationId = encodeRecommendationId(randomBytes(16), { tag, variantIndex });
    const time = new Date(Date.now() - hoursAgo * 60 * 60 * 1000).toISOString();
    await pool.query(
      `INSERT INTO impressions (event_id, user_id, recommendation_id, product_ids, event_time, kafka_topic, kafka_partition, kafka_offset)
       VALUES ($1, $2, $3, ARRAY['p1', 'p2'], $4, 'fixture', 0, 0)`,
      [randomUUID(), userId, recommendationId, time],
    );
    if (clicked) {
      await pool.query(
        `INSERT INTO events (event_id, user_id, type, product_id, event_time, kafka_topic, kafka_partition, kafka_offset, recommendation_id, position)
         VALUES ($1, $2, 'click', 'p1', $3, 'fixture', 0, 0, $4, 0)`,
        [randomUUID(), userId, time, recommendationId],
      );
    }
  }
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  const code = await batch?.stop();
  await pool?.end();
  await db?.drop();
  await topic?.remove();
  expect(code, batch?.output().slice(-4000)).toBe(0);
});

const experiments = async (): Promise<Experiment[]> =>
  ((await (await fetch(`${batch.url}/experiments`, { headers: { authorization: AUTH } })).json()) as { experiments: Experiment[] })
    .experiments;

const statusOf = async (experimentId: string) => (await experiments()).find((e) => e.experimentId === experimentId)?.status;

/** Clicks the row's Start/Stop button and waits for the page to load again. */
/**
 * Clicks an experiment's Start/Stop button and waits for its PUT to be answered and the page to load
 * again. Waiting for the URL alone is not enough: the page may already be at that URL, and then the
 * wait ends before the PUT does.
 */
const toggle = async (page: Page, experimentId: string) => {
  const reloaded = page.waitForEvent('load');
  await Promise.all([
    page.waitForResponse((response) => response.request().method() === 'PUT' && response.url().endsWith(`/experiments/${experimentId}`)),
    page.locator(`table.experiments tr[data-experiment-id="${experimentId}"] button.set-status`).click(),
  ]);
  await reloaded;
};

describe('the experiments page in Chromium', () => {
  it('asks for the dashboard credentials', async () => {
    expect((await fetch(`${batch.url}/admin/experiments`)).status).toBe(401);
  });

  it('shows the running experiment with its table and chart, creates an experiment and stops it', async () => {
    const context = await browser!.newContext({ httpCredentials: { username: DASHBOARD.user, password: DASHBOARD.password } });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${batch.url}/admin/experiments`);
      expect(response?.status()).toBe(200);
      await expect(page.locator('p.running').textContent()).resolves.toContain('Running: seeded');
      const rows = page.locator('table.variants tbody tr');
      await expect(rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset['variant']))).resolves.toEqual([
        'control',
        'popular',
      ]);
      // Per variant: users, impressions, items shown, clicks (columns 4–7).
      const figures = await rows.evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td.n')].slice(1, 5).map((td) => td.textContent)),
      );
      expect(figures).toEqual([
        ['2', '2', '4', '1'],
        ['2', '2', '4', '1'],
      ]);
      const chart = page.locator('svg.ctr-chart');
      await expect(chart.locator('polyline.ctr').count()).resolves.toBe(2);
      await expect(chart.locator('polygon.band').count()).resolves.toBe(2);
      await expect(chart.locator('circle').count()).resolves.toBe(4);

      // Stop the seeded one, then create and run another from the form.
      await toggle(page, 'seeded');
      expect(await statusOf('seeded')).toBe('stopped');
      await page.fill('#create input[name="experimentId"]', 'made-in-browser');
      await page.selectOption('#create select[name="mode"]', 'interleave');
      await Promise.all([
        page.waitForURL('**/admin/experiments?experimentId=made-in-browser'),
        page.click('#create button[type="submit"]'),
      ]);
      const made = (await experiments()).find((e) => e.experimentId === 'made-in-browser');
      expect(made).toMatchObject({ mode: 'interleave', status: 'running' });
      await expect(page.locator('p.running').textContent()).resolves.toContain('Running: made-in-browser');

      // A refusal is shown, not swallowed: the seeded one cannot start while this one runs.
      await page.locator('table.experiments tr[data-experiment-id="seeded"] button.set-status').click();
      await expect(page.locator('#problem').filter({ hasText: '409' }).textContent()).resolves.toContain('made-in-browser is running');

      await toggle(page, 'made-in-browser');
      expect(await statusOf('made-in-browser')).toBe('stopped');
      await expect(page.locator('p.running').textContent()).resolves.toContain('No experiment is running');
    } finally {
      await context.close();
    }
  });
});
