/**
 * `npm run simulate -- --experiment`, run as an operator runs it (a process, over the public APIs)
 * against the four services on a database, topic and key prefix of their own, with a tiny
 * population: the experiment is created and stopped through batch, the shoppers' lists and clicks
 * reach the archive, and the report counts both variants. The mode's pure parts (planning, the
 * truth, the table) are tested in tools/simulate.
 */
import { createPgPool, type PgPool } from '@lambdarec/clients';
import { demoCatalog, demoEvents } from '@lambdarec/local-stack';
import { runMigrations } from '@lambdarec/stores';
import { createTestDatabase, createTestTopic, testLogger, waitFor, type TestDatabase, type TestTopic } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isolatedServicesEnv, runTool, startService, type RunningService } from './harness.js';

const log = testLogger('simulate-experiment');
const DASHBOARD = { user: 'ops', password: 'simulate-experiment-password' };
const CATALOG_API_KEY = 'simulate-experiment-catalog-key';
const auth = `Basic ${Buffer.from(`${DASHBOARD.user}:${DASHBOARD.password}`).toString('base64')}`;
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
const services: Partial<Record<'ingest' | 'speed' | 'batch' | 'serving', RunningService>> = {};
const url = (name: keyof typeof services) => services[name]!.url;

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
  db = await createTestDatabase(databaseUrl, (dbUrl) => runMigrations({ databaseUrl: dbUrl, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'e2e-simulate-experiment' });
  const env = isolatedServicesEnv(
    'e2e-sim-exp',
    { databaseUrl: db.url, redisUrl, kafkaBrokers, topic: topic.topic },
    { dashboard: DASHBOARD, catalogApiKey: CATALOG_API_KEY },
  );
  const started = await Promise.all((['ingest', 'speed', 'batch', 'serving'] as const).map((name) => startService(name, env)));
  for (const service of started) services[service.name] = service;

  // A small demo shop with a published run, so that every strategy has lists to show.
  const operator = { 'content-type': 'application/json', authorization: `Bearer ${CATALOG_API_KEY}` };
  const catalog = await fetch(`${url('ingest')}/products`, { method: 'PUT', headers: operator, body: JSON.stringify(demoCatalog()) });
  expect(catalog.status).toBe(200);
  const history = demoEvents({ users: 12 });
  const imported = await fetch(`${url('ingest')}/events`, { method: 'POST', headers: operator, body: JSON.stringify({ events: history }) });
  expect(imported.status).toBe(202);
  await waitFor(
    async () =>
      (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n === history.length ? true : undefined,
    { what: 'the demo history archived', timeoutMs: 30_000 },
  );
  const run = await fetch(`${url('batch')}/batch/runs`, { method: 'POST', headers: { authorization: auth } });
  expect(run.status).toBe(202);
  const { runId } = (await run.json()) as { runId: string };
  await waitFor(
    async () => {
      const answer = (await (await fetch(`${url('serving')}/recommendations/demo-user-1`)).json()) as { sources: { batchRunId: string } };
      return answer.sources.batchRunId === runId ? true : undefined;
    },
    { what: 'serving to answer from the first run', timeoutMs: 30_000 },
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(Object.values(services).map((s) => s.stop()));
  await pool?.end();
  await db?.drop();
  await topic?.remove();
});

describe('npm run simulate -- --experiment against running services', () => {
  it('creates an A/B experiment, sends shoppers through both variants, prints the report beside the truth, and stops it', async () => {
    const experimentId = 'sim-e2e-ab';
    const { code, output } = await runTool(
      'tools/simulate/src/main.ts',
      [
        '--experiment',
        experimentId,
        '--create',
        'ab:popular,lambda',
        '--stop',
        '--shoppers',
        '12',
        '--visits',
        '2',
        '--rate',
        '8',
        '--seed',
        '3',
        '--report-every',
        '2',
        '--ingest-url',
        url('ingest'),
        '--serving-url',
        url('serving'),
        '--batch-url',
        url('batch'),
      ],
      { DATABASE_URL: db.url, DASHBOARD_USER: DASHBOARD.user, DASHBOARD_PASSWORD: DASHBOARD.password },
    );
    expect(output).toContain(`experiment ${experimentId} stopped`);
    expect(output).toMatch(
      /^\| variant +\| lists sent +\| lists counted +\| clicks sent +\| clicks counted +\| measured CTR \[95 %\] +\| true CTR +\|$/m,
    );
    expect(output).toMatch(/^A\/B: (challenger-better|baseline-better|no-difference-yet) .*→ (agrees|disagrees|undecided)$/m);
    const summary = /^summary: 24 visits .* (\d+) lists shown, .*failures 4xx: 0, 5xx: 0, no answer: 0, events given up: 0$/m.exec(output);
    expect(summary, output).not.toBeNull();
    expect(code, output).toBe(0);
    const listsShown = Number(summary![1]);
    expect(listsShown).toBe(24);

    // Every list shown reached the archive, once, under the variant its recommendationId names.
    const { rows } = await pool.query<{ variant: number; lists: number; users: number }>(
      `SELECT get_byte(uuid_send(recommendation_id), 2) >> 4 AS variant, count(*)::int AS lists, count(DISTINCT user_id)::int AS users
       FROM impressions WHERE user_id LIKE 'sim-3-%' GROUP BY 1 ORDER BY 1`,
    );
    expect(rows.map((row) => row.variant)).toEqual([0, 1]);
    expect(rows.reduce((sum, row) => sum + row.lists, 0)).toBe(listsShown);

    // The report counts the same lists for both variants (the experiment is stopped: its figures are final).
    const res = await fetch(`${url('batch')}/experiments/${experimentId}/report`, { headers: { authorization: auth } });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { variants: { name: string; impressions: number; clicks: number }[] };
    expect(report.variants.map((variant) => variant.name)).toEqual(['popular', 'lambda']);
    expect(report.variants.map((variant) => variant.impressions)).toEqual(rows.map((row) => row.lists));
    const experiments = (await (await fetch(`${url('batch')}/experiments`, { headers: { authorization: auth } })).json()) as {
      experiments: { experimentId: string; status: string }[];
    };
    expect(experiments.experiments.find((e) => e.experimentId === experimentId)?.status).toBe('stopped');
  }, 90_000);
});
