import { randomUUID } from 'node:crypto';
import { createKafka, createPgPool, type PgPool } from '@lambdarec/clients';
import { runMigrations } from '@lambdarec/stores';
import { createTestDatabase, createTestTopic, testLogger, waitFor, type TestDatabase, type TestTopic } from '@lambdarec/testing';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isolatedServicesEnv, startService, type RunningService } from './harness.js';

const log = testLogger('e2e');
const DASHBOARD = { user: 'ops', password: 'e2e-password' };
const CATALOG_API_KEY = 'e2e-catalog-api-key';
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
const services: Partial<Record<'ingest' | 'speed' | 'batch' | 'serving', RunningService>> = {};
const url = (name: keyof typeof services) => services[name]!.url;

interface Item {
  productId: string;
  score: number;
  category: string | null;
  reasons: string[];
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url('ingest')}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const recommendations = async (
  userId: string,
  query = '',
): Promise<{ items: Item[]; sources: { batchRunId: string | null; session: boolean }; degraded: string[] }> => {
  const res = await fetch(`${url('serving')}/recommendations/${userId}${query}`);
  expect(res.status).toBe(200);
  return res.json() as never;
};

/** A small grocery: tea drinkers buy biscuits, coffee drinkers buy milk; stationery is its own world. */
const CATALOG = [
  { productId: 'tea', category: 'drinks' },
  { productId: 'coffee', category: 'drinks' },
  { productId: 'biscuits', category: 'snacks' },
  { productId: 'crisps', category: 'snacks' },
  { productId: 'milk', category: 'dairy' },
  { productId: 'cheese', category: 'dairy' },
  { productId: 'pen', category: 'stationery' },
  { productId: 'notebook', category: 'stationery' },
  { productId: 'stapler', category: 'stationery', inStock: false },
];

function history(): unknown[] {
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000 - 3 * 3_600_000).toISOString();
  const events: unknown[] = [];
  const visit = (userId: string, productIds: string[], type = 'view') =>
    productIds.forEach((productId, i) => events.push({ userId, productId, type, timestamp: at(i) }));
  for (let i = 0; i < 6; i++) visit(`tea-fan-${i}`, ['tea', 'biscuits', 'cheese'], i % 2 === 0 ? 'purchase' : 'view');
  for (let i = 0; i < 6; i++) visit(`coffee-fan-${i}`, ['coffee', 'milk', 'crisps']);
  for (let i = 0; i < 4; i++) visit(`writer-${i}`, ['pen', 'notebook', 'stapler']);
  visit('shopper', ['tea']);
  visit('shopper', ['coffee'], 'click');
  return events;
}

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 6 });
  db = await createTestDatabase(databaseUrl, (dbUrl) => runMigrations({ databaseUrl: dbUrl, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'e2e' });
  const env = isolatedServicesEnv(
    'e2e',
    { databaseUrl: db.url, redisUrl, kafkaBrokers, topic: topic.topic },
    { dashboard: DASHBOARD, catalogApiKey: CATALOG_API_KEY },
  );
  const started = await Promise.all((['ingest', 'speed', 'batch', 'serving'] as const).map((name) => startService(name, env)));
  for (const service of started) services[service.name] = service;
}, 180_000);

afterAll(async () => {
  const stopped = await Promise.all(Object.values(services).map(async (s) => ({ name: s.name, code: await s.stop(), output: s.output() })));
  await pool?.end();
  await db?.drop();
  await topic?.remove();
  // Every service shuts down cleanly on SIGTERM.
  for (const { name, code, output } of stopped) expect(code, `${name} exited ${code}:\n${output.slice(-4000)}`).toBe(0);
  expect(stopped.map(({ name }) => name).sort()).toEqual(['batch', 'ingest', 'serving', 'speed']);
});

describe('the whole system over real Kafka, Postgres and Redis', () => {
  let runId: string;

  it('ingests events and a catalog, archives them once, and publishes a batch run', async () => {
    const catalog = await fetch(`${url('ingest')}/products`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CATALOG_API_KEY}` },
      body: JSON.stringify(CATALOG),
    });
    expect(catalog.status).toBe(200);
    const events = history();
    const ingested = await post('/events', { events });
    expect(ingested.status).toBe(202);
    expect(((await ingested.json()) as { accepted: number }).accepted).toBe(events.length);

    await waitFor(
      async () =>
        (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n === events.length ? true : undefined,
      { what: 'every event archived', timeoutMs: 30_000 },
    );

    const auth = `Basic ${Buffer.from(`${DASHBOARD.user}:${DASHBOARD.password}`).toString('base64')}`;
    const started = await fetch(`${url('batch')}/batch/runs`, { method: 'POST', headers: { authorization: auth } });
    expect(started.status).toBe(202);
    runId = ((await started.json()) as { runId: string }).runId;
    const run = await waitFor(
      async () => {
        const r = (await (await fetch(`${url('batch')}/batch/runs/${runId}`, { headers: { authorization: auth } })).json()) as {
          status: string;
        };
        return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
      },
      { what: 'the batch run', timeoutMs: 60_000 },
    );
    expect(run).toMatchObject({ status: 'succeeded', published: true, stats: { eventsRead: events.length } });
    await waitFor(async () => ((await recommendations('shopper')).sources.batchRunId === runId ? true : undefined), {
      what: 'serving to pick up the run',
    });
  });

  it('recommends to a user from the batch view, with reasons, and never an out-of-stock product', async () => {
    const answer = await recommendations('tea-fan-1');
    expect(answer.sources.batchRunId).toBe(runId);
    expect(answer.items.length).toBeGreaterThan(0);
    for (const item of answer.items) expect(item.reasons.length).toBeGreaterThan(0);
    expect(answer.items.map((i) => i.productId)).not.toContain('stapler');
    const writer = await recommendations('writer-1', '?limit=50');
    expect(writer.items.map((i) => i.productId)).not.toContain('stapler');
    const stranger = await recommendations('never-seen-before', '?limit=3');
    expect(stranger.items).toHaveLength(3);
    expect(stranger.items.every((i) => i.reasons.includes('popular'))).toBe(true);
  });

  it('a purchase removes the product from the next answers within a second or so', async () => {
    const before = await recommendations('shopper');
    const target = before.items[0]!.productId;
    const posted = Date.now();
    expect((await post('/events', { userId: 'shopper', type: 'purchase', productId: target })).status).toBe(202);
    await waitFor(async () => ((await recommendations('shopper')).items.some((i) => i.productId === target) ? undefined : true), {
      what: `${target} to disappear after its purchase`,
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    const latencyMs = Date.now() - posted;
    process.stdout.write(`[e2e] purchase → gone from recommendations in ${latencyMs} ms\n`);
    expect((await recommendations('shopper')).sources.session).toBe(true);
  });

  it('viewing a category lifts its items', async () => {
    const user = 'category-browser';
    const before = await recommendations(user, '?limit=20');
    const notebookBefore = before.items.find((i) => i.productId === 'notebook')!;
    expect(notebookBefore).toBeDefined();
    expect((await post('/events', { userId: user, type: 'view', productId: 'pen', category: 'stationery' })).status).toBe(202);
    const after = await waitFor(
      async () => {
        const answer = await recommendations(user, '?limit=20');
        return answer.items.some((i) => i.reasons.includes('session:category-boost:stationery')) ? answer : undefined;
      },
      { what: 'the stationery boost' },
    );
    const notebookAfter = after.items.find((i) => i.productId === 'notebook')!;
    expect(notebookAfter.score).toBeGreaterThan(notebookBefore.score);
    expect(after.items.findIndex((i) => i.productId === 'notebook')).toBeLessThan(
      before.items.findIndex((i) => i.productId === 'notebook'),
    );
  });

  it('an event published to the topic by an outside Kafka client gets the same treatment', async () => {
    const kafka = createKafka({ brokers: inject('infra').kafkaBrokers, clientId: 'outside-publisher', log });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      const before = await recommendations('coffee-fan-2');
      const target = before.items[0]!.productId;
      const eventId = randomUUID();
      await producer.send({
        topic: topic.topic,
        acks: -1,
        messages: [
          { key: 'coffee-fan-2', value: JSON.stringify({ eventId, userId: 'coffee-fan-2', type: 'purchase', productId: target }) },
        ],
      });
      await waitFor(async () => ((await recommendations('coffee-fan-2')).items.some((i) => i.productId === target) ? undefined : true), {
        what: 'the outside purchase to suppress the product',
      });
      await waitFor(
        async () => ((await pool.query('SELECT 1 FROM events WHERE event_id = $1', [eventId])).rowCount === 1 ? true : undefined),
        { what: 'the outside event archived' },
      );
    } finally {
      await producer.disconnect();
    }
  });

  it('every service reports ready, serves metrics, and documents its API', async () => {
    for (const name of ['ingest', 'speed', 'batch', 'serving'] as const) {
      expect((await fetch(`${url(name)}/readyz`)).status, name).toBe(200);
      expect(await (await fetch(`${url(name)}/metrics`)).text(), name).toMatch(/process_cpu_user_seconds_total/);
    }
    for (const name of ['ingest', 'batch', 'serving'] as const) {
      const doc = (await (await fetch(`${url(name)}/docs/json`)).json()) as { openapi: string };
      expect(doc.openapi, name).toMatch(/^3\./);
    }
  });
});
