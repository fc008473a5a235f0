import { randomBytes, randomUUID } from 'node:crypto';
import { createPgPool, type PgPool } from '@lambdarec/clients';
import type { ExperimentDefinition, ExperimentReport } from '@lambdarec/contracts';
import { assignVariant, encodeRecommendationId } from '@lambdarec/domain';
import { runMigrations } from '@lambdarec/stores';
import { createTestDatabase, createTestTopic, testLogger, waitFor, type TestDatabase, type TestTopic } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isolatedServicesEnv, startService, type RunningService } from './harness.js';

// Closing the loop end to end: events posted to ingest, archived by batch from Kafka, and counted
// by batch's experiment report, exactly, with retried requests counted once.

const log = testLogger('e2e-experiments');
const DASHBOARD = { user: 'ops', password: 'e2e-password' };
const AUTH = `Basic ${Buffer.from(`${DASHBOARD.user}:${DASHBOARD.password}`).toString('base64')}`;
let topic: TestTopic;
let db: TestDatabase;
let pool: PgPool;
const services: Partial<Record<'ingest' | 'batch', RunningService>> = {};

beforeAll(async () => {
  const { kafkaBrokers, databaseUrl, redisUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
  db = await createTestDatabase(databaseUrl, (dbUrl) => runMigrations({ databaseUrl: dbUrl, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'e2e-experiments' });
  const env = isolatedServicesEnv(
    'e2e-experiments',
    { databaseUrl: db.url, redisUrl, kafkaBrokers, topic: topic.topic },
    { dashboard: DASHBOARD, catalogApiKey: 'e2e-catalog-api-key' },
  );
  const started = await Promise.all((['ingest', 'batch'] as const).map((name) => startService(name, env)));
  for (const service of started) services[service.name] = service;
}, 120_000);

afterAll(async () => {
  const stopped = await Promise.all(Object.values(services).map(async (s) => ({ name: s.name, code: await s.stop(), output: s.output() })));
  await pool?.end();
  await db?.drop();
  await topic?.remove();
  for (const { name, code, output } of stopped) expect(code, `${name} exited ${code}:\n${output.slice(-4000)}`).toBe(0);
});

const putExperiment = async (experimentId: string, definition: ExperimentDefinition): Promise<{ tag: number }> => {
  const res = await fetch(`${services.batch!.url}/experiments/${experimentId}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body: JSON.stringify(definition),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { tag: number };
};

const postEvents = async (events: readonly object[]) => {
  const res = await fetch(`${services.ingest!.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  expect(res.status, await res.clone().text()).toBe(202);
};

/** Waits until the archive holds every one of these events (product events and impressions alike), once. */
const archived = (events: ReadonlyArray<{ eventId: string }>) =>
  waitFor(
    async () => {
      const ids = events.map((e) => e.eventId);
      const { rows } = await pool.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM events WHERE event_id = ANY($1::uuid[])) + (SELECT count(*) FROM impressions WHERE event_id = ANY($1::uuid[])) AS n`,
        [ids],
      );
      return Number(rows[0]!.n) === ids.length ? true : undefined;
    },
    { what: `${events.length} events archived`, timeoutMs: 20_000 },
  );

const report = async (experimentId: string): Promise<ExperimentReport> => {
  const res = await fetch(`${services.batch!.url}/experiments/${experimentId}/report`, { headers: { authorization: AUTH } });
  expect(res.status).toBe(200);
  return (await res.json()) as ExperimentReport;
};

const HOUR = 60 * 60 * 1000;
const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
type Action = 'click' | 'add_to_cart' | 'purchase';
const act = (userId: string, type: Action, productId: string, msAgo: number, extra: object = {}) => ({
  eventId: randomUUID(),
  userId,
  type,
  productId,
  timestamp: at(msAgo),
  ...extra,
});
const impression = (userId: string, recommendationId: string, productIds: string[], msAgo: number) => ({
  eventId: randomUUID(),
  userId,
  type: 'impression',
  recommendationId,
  productIds,
  timestamp: at(msAgo),
});

describe('experiment reports over ingest and the archive', () => {
  it('an A/B report counts every attributed event exactly once, per variant', async () => {
    const ab: ExperimentDefinition = {
      mode: 'ab',
      status: 'running',
      variants: [
        { name: 'control', weight: 1, strategy: 'lambda', params: {} },
        { name: 'challenger', weight: 1, strategy: 'popular', params: {} },
      ],
    };
    const { tag } = await putExperiment('loop-ab', ab);
    // Two shoppers of each variant, chosen as serving assigns them.
    const usersOf: string[][] = [[], []];
    for (let i = 0; usersOf[0]!.length < 2 || usersOf[1]!.length < 2; i++) {
      const userId = `ab-shopper-${i}`;
      usersOf[assignVariant('loop-ab', userId, [1, 1])]!.push(userId);
    }
    const [[c1, c2], [t1, t2]] = usersOf as [[string, string], [string, string]];
    const listOf = (userId: string) =>
      encodeRecommendationId(randomBytes(16), { tag, variantIndex: assignVariant('loop-ab', userId, [1, 1]) });
    const [lc1, lc2, lt1, lt2] = [listOf(c1), listOf(c2), listOf(t1), listOf(t2)];

    const c1Events = [
      impression(c1, lc1, ['p1', 'p2', 'p3'], 3 * HOUR),
      act(c1, 'click', 'p1', 3 * HOUR, { recommendationId: lc1, position: 0 }),
      act(c1, 'add_to_cart', 'p1', 3 * HOUR, { recommendationId: lc1, position: 0 }),
      act(c1, 'purchase', 'p1', 3 * HOUR, { recommendationId: lc1, value: 20 }),
    ];
    const t2Click = act(t2, 'click', 'p6', 2 * HOUR, { recommendationId: lt2, position: 0 });
    const events = [
      ...c1Events,
      impression(c2, lc2, ['p4', 'p5'], 4 * HOUR),
      act(c2, 'click', 'p5', 4 * HOUR, { recommendationId: lc2, position: 1 }),
      // No recommendationId: credited through the click two hours before.
      act(c2, 'purchase', 'p5', 2 * HOUR, { value: 8 }),
      impression(t1, lt1, ['p1', 'p2', 'p3', 'p4'], 32 * HOUR),
      act(t1, 'click', 'p2', 32 * HOUR, { recommendationId: lt1, position: 1 }),
      act(t1, 'click', 'p3', 32 * HOUR, { recommendationId: lt1, position: 2 }),
      // 30 hours after its click: outside ATTRIBUTION_HOURS (24).
      act(t1, 'purchase', 'p3', 2 * HOUR, { value: 15 }),
      // Never clicked on a list: nobody's.
      act(t1, 'purchase', 'p9', 2 * HOUR, { value: 99 }),
      impression(t2, lt2, ['p6'], 2 * HOUR),
      t2Click,
      act(t2, 'add_to_cart', 'p6', 2 * HOUR, { recommendationId: lt2 }),
      act(t2, 'purchase', 'p6', 2 * HOUR, { recommendationId: lt2, value: 12.5 }),
    ];
    await postEvents(events);
    // A client retrying after a timeout sends the same eventIds again.
    await postEvents([...c1Events, t2Click]);
    await archived(events);

    const { variants, comparison, since, until } = await report('loop-ab');
    expect(variants.map(({ ctr: _ctr, ctrInterval: _interval, ...counts }) => counts)).toEqual([
      { name: 'control', users: 2, impressions: 2, itemsShown: 5, clicks: 2, addToCarts: 1, purchases: 2, revenue: 28 },
      { name: 'challenger', users: 2, impressions: 2, itemsShown: 5, clicks: 3, addToCarts: 1, purchases: 1, revenue: 12.5 },
    ]);
    expect(variants.map((v) => v.ctr)).toEqual([2 / 5, 3 / 5]);
    expect(comparison).toMatchObject({ baseline: 'control', challenger: 'challenger', verdict: 'no-difference-yet' });
    expect(comparison.difference).toBeCloseTo(0.2);
    expect(since).not.toBeNull();
    expect(Date.parse(until)).toBeGreaterThanOrEqual(Date.parse(since!));
    await putExperiment('loop-ab', { ...ab, status: 'stopped' });
  });

  it('an interleaved report credits each click to the team that placed the item, and scores each clicked list', async () => {
    const { tag } = await putExperiment('loop-il', {
      mode: 'interleave',
      status: 'running',
      variants: [
        { name: 'baseline', weight: 1, strategy: 'lambda', params: {} },
        { name: 'batch-only', weight: 1, strategy: 'batch-only', params: {} },
      ],
    });
    /** A list whose first 8 rounds' coins are `firstCoins` (1: the challenger picks first), the rest 0. */
    const listWith = (firstCoins: number) => {
      const random = randomBytes(16);
      random.fill(0, 10);
      random[10] = firstCoins;
      return encodeRecommendationId(random, { tag, variantIndex: 0 });
    };
    // Baseline first: positions 0, 2 are the baseline's, 1, 3 the challenger's.
    const won = listWith(0x00);
    // Challenger first: positions 0, 2 are the challenger's.
    const tied = listWith(0xff);
    const lost = listWith(0x00);
    const events = [
      impression('il-1', won, ['q1', 'q2', 'q3', 'q4'], HOUR),
      act('il-1', 'click', 'q2', HOUR, { recommendationId: won, position: 1 }),
      // No position: found in the list shown (position 3, the challenger's).
      act('il-1', 'click', 'q4', HOUR, { recommendationId: won }),
      impression('il-2', tied, ['q1', 'q2', 'q3', 'q4'], HOUR),
      act('il-2', 'click', 'q1', HOUR, { recommendationId: tied, position: 0 }),
      act('il-2', 'click', 'q2', HOUR, { recommendationId: tied, position: 1 }),
      impression('il-2', lost, ['q5', 'q6'], HOUR),
      act('il-2', 'click', 'q5', HOUR, { recommendationId: lost, position: 0 }),
    ];
    await postEvents(events);
    await archived(events);

    const { variants, interleaving, mode } = await report('loop-il');
    expect(mode).toBe('interleave');
    expect(variants.map(({ name, users, impressions, itemsShown, clicks }) => ({ name, users, impressions, itemsShown, clicks }))).toEqual([
      { name: 'baseline', users: 2, impressions: 3, itemsShown: 5, clicks: 2 },
      { name: 'batch-only', users: 2, impressions: 3, itemsShown: 5, clicks: 3 },
    ]);
    expect(interleaving).toMatchObject({ wins: 1, losses: 1, ties: 1, preference: 0, verdict: 'no-difference-yet' });
  });
});
