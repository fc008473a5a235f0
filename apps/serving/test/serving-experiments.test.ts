import { randomUUID } from 'node:crypto';
import { createPgPool, createRedis, type PgPool, type Redis } from '@lambdarec/clients';
import { servingConfigSchema, sessionPolicyFrom } from '@lambdarec/config';
import type { ExperimentDefinition, RecommendationsAnswer } from '@lambdarec/contracts';
import {
  assignVariant,
  computeBatchModel,
  decodeRecommendationId,
  DEFAULT_BATCH_POLICY,
  diversify,
  teamAt,
  type Interaction,
} from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/metrics';
import {
  createBatchRunsRepository,
  createExperimentRepository,
  createSessionStore,
  publishWholeModel,
  runMigrations,
  type ExperimentRepository,
  type SessionStore,
} from '@lambdarec/stores';
import { createTestDatabase, testLogger, uniqueName, type TestDatabase } from '@lambdarec/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createServing, type Serving } from '../src/app.js';
import { INTERLEAVED } from '../src/recommender.js';

const log = testLogger('serving-experiments-test');
let db: TestDatabase;
let pool: PgPool;
let redis: Redis;
let sessions: SessionStore;
let experiments: ExperimentRepository;
let serving: Serving;
/** Serving's environment in these tests. */
let servingEnv: Record<string, string>;

const interaction = (userId: string, productId: string, category: string): Interaction => ({
  userId,
  productId,
  type: 'purchase',
  count: 1,
  lastAt: Date.now() - 3_600_000,
  category,
});

/**
 * Shoes are the best-sellers, the four best of them; a few customers also buy hats, so hats have
 * a popular list of their own.
 */
const HISTORY: Interaction[] = [
  ...Array.from({ length: 8 }, (_, i) => [interaction(`s${i}`, 'shoe-1', 'shoes'), interaction(`s${i}`, 'shoe-2', 'shoes')]).flat(),
  ...Array.from({ length: 5 }, (_, i) => interaction(`s${i}`, 'shoe-3', 'shoes')),
  ...Array.from({ length: 4 }, (_, i) => interaction(`s${i}`, 'shoe-4', 'shoes')),
  ...Array.from({ length: 3 }, (_, i) => [interaction(`h${i}`, 'hat-1', 'hats'), interaction(`h${i}`, 'hat-2', 'hats')]).flat(),
];

const recommend = async (userId: string, query = ''): Promise<RecommendationsAnswer> => {
  const res = await serving.app.inject(`/recommendations/${userId}${query}`);
  expect(res.statusCode).toBe(200);
  return res.json();
};

/** Runs `definition` as the only running experiment, as serving will see it on its next refresh. */
async function runExperiment(
  definition: Omit<ExperimentDefinition, 'status'>,
  id = uniqueName('exp'),
): Promise<{ id: string; tag: number }> {
  for (const running of await experiments.list()) {
    if (running.status === 'running') await experiments.put(running.experimentId, { ...running, status: 'stopped' });
  }
  const stored = await experiments.put(id, { ...definition, status: 'running' });
  await serving.experiments.refresh();
  return { id, tag: stored.tag };
}

/** A second serving on the same stores, configured with DIVERSITY 0.8, for `use` alone. */
async function withDiversityConfigured(use: (spreading: Serving) => Promise<void>): Promise<void> {
  const spreading = await createServing({
    pool,
    redis,
    config: servingConfigSchema.parse({ ...servingEnv, DIVERSITY: '0.8' }),
    log,
    registry: createMetricsRegistry(uniqueName('serving-diversity')),
  });
  try {
    await use(spreading);
  } finally {
    await spreading.close();
  }
}

/** A shopper who has just been looking at hats: the session boosts them. */
async function hatBrowser(): Promise<string> {
  const userId = `browser-${randomUUID()}`;
  await sessions.record(
    ['hat-1', 'hat-2', 'hat-1'].map((productId, i) => ({
      eventId: randomUUID(),
      userId,
      type: 'view' as const,
      productId,
      category: 'hats',
      at: Date.now() - (3 - i) * 1000,
    })),
  );
  return userId;
}

beforeAll(async () => {
  const { databaseUrl, redisUrl } = inject('infra');
  db = await createTestDatabase(databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'serving-experiments-test' });
  redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
  servingEnv = {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `${uniqueName('serving-exp')}:`,
    BATCH_VIEW_REFRESH_MS: '60000',
  };
  const settings = servingConfigSchema.parse(servingEnv);
  sessions = createSessionStore({ redis, keyPrefix: settings.REDIS_KEY_PREFIX, policy: sessionPolicyFrom(settings) });
  experiments = createExperimentRepository({ pool });
  const runs = createBatchRunsRepository({ pool });
  const runId = randomUUID();
  await runs.create({ runId, trigger: 'test' });
  await runs.markRunning(runId);
  await publishWholeModel({ pool, runs }, runId, computeBatchModel(HISTORY, Date.now(), DEFAULT_BATCH_POLICY));
  serving = await createServing({ pool, redis, config: settings, log, registry: createMetricsRegistry('serving-experiments-test') });
});

afterAll(async () => {
  await serving?.close();
  await redis?.quit();
  await pool?.end();
  await db?.drop();
});

describe('answers outside any experiment', () => {
  beforeEach(async () => {
    for (const e of await experiments.list())
      if (e.status === 'running') await experiments.put(e.experimentId, { ...e, status: 'stopped' });
    await serving.experiments.refresh();
  });

  it('carry a recommendationId of their own, of no experiment, and experiment null', async () => {
    const [first, second] = [await recommend('s1'), await recommend('s1')];
    expect(first.experiment).toBeNull();
    expect(first.recommendationId).not.toBe(second.recommendationId);
    expect(decodeRecommendationId(first.recommendationId)).toMatchObject({ tag: 0, variantIndex: 0 });
    expect(first.items.every((item) => item.team === undefined)).toBe(true);
  });

  it('spread categories for everyone when serving is configured with DIVERSITY', async () => {
    await withDiversityConfigured(async (spreading) => {
      const userId = `new-${randomUUID()}`;
      const res = await spreading.app.inject(`/recommendations/${userId}?limit=3`);
      expect(res.statusCode).toBe(200);
      const spread: RecommendationsAnswer = res.json();
      expect(spread.experiment).toBeNull();
      expect(spread.items).toEqual(diversify((await recommend(userId, '?limit=6')).items, 0.8, 3));
      expect(spread.items.map((item) => item.category)).toContain('hats');
    });
  });
});

describe('an A/B experiment', () => {
  it('gives each user the same variant on every request, as assignVariant says, and stamps it into the id', async () => {
    const { id, tag } = await runExperiment({
      mode: 'ab',
      variants: [
        { name: 'control', weight: 1, strategy: 'lambda', params: {} },
        { name: 'popular', weight: 1, strategy: 'popular', params: {} },
      ],
    });
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const userId = `ab-user-${i}`;
      const expected = ['control', 'popular'][assignVariant(id, userId, [1, 1])];
      const answers = [await recommend(userId), await recommend(userId)];
      for (const answer of answers) {
        expect(answer.experiment).toEqual({ id, variant: expected });
        expect(decodeRecommendationId(answer.recommendationId)).toMatchObject({ tag, variantIndex: expected === 'control' ? 0 : 1 });
      }
      seen.add(expected!);
    }
    expect(seen).toEqual(new Set(['control', 'popular']));
  });

  it('runs each strategy on the same merge: popular ignores the session and the history, batch-only the session', async () => {
    // An id that puts the known customers h0 in batch-only and h1 in popular (assignment is by hash).
    let experimentId = '';
    for (let n = 0; experimentId === ''; n++) {
      const candidate = `${uniqueName('strategies')}-${n}`;
      if (assignVariant(candidate, 'h0', [1, 1, 1]) === 1 && assignVariant(candidate, 'h1', [1, 1, 1]) === 2) experimentId = candidate;
    }
    const { id } = await runExperiment(
      {
        mode: 'ab',
        variants: [
          { name: 'lambda', weight: 1, strategy: 'lambda', params: {} },
          { name: 'batch-only', weight: 1, strategy: 'batch-only', params: {} },
          { name: 'popular', weight: 1, strategy: 'popular', params: {} },
        ],
      },
      experimentId,
    );
    const byVariant = new Map<string, RecommendationsAnswer>();
    while (byVariant.size < 3) {
      const userId = await hatBrowser();
      const answer = await recommend(userId);
      byVariant.set(answer.experiment!.variant, answer);
    }
    expect(byVariant.get('lambda')!.sources.session).toBe(true);
    expect(byVariant.get('lambda')!.items[0]!.category).toBe('hats');
    expect(
      byVariant
        .get('lambda')!
        .items.flatMap((item) => item.reasons)
        .some((r) => r.startsWith('session:')),
    ).toBe(true);
    for (const name of ['batch-only', 'popular']) {
      const answer = byVariant.get(name)!;
      expect(answer.experiment).toEqual({ id, variant: name });
      expect(answer.sources.session).toBe(false);
      expect(answer.items[0]!.productId).toMatch(/^shoe-/);
      expect(answer.items.flatMap((item) => item.reasons).every((r) => !r.startsWith('session:'))).toBe(true);
    }
    // Known customers: batch-only keeps their history's picks, popular shows best-sellers only.
    const known = await recommend('h0');
    expect(known.experiment).toEqual({ id, variant: 'batch-only' });
    expect(known.items.flatMap((item) => item.reasons).some((r) => r.startsWith('batch:'))).toBe(true);
    const popular = await recommend('h1');
    expect(popular.experiment).toEqual({ id, variant: 'popular' });
    expect(popular.items.every((item) => item.reasons.every((r) => r === 'popular'))).toBe(true);
  });

  it("applies a variant's params: the category boost is the variant's own", async () => {
    await runExperiment({
      mode: 'ab',
      variants: [
        { name: 'boosted', weight: 1, strategy: 'lambda', params: { CATEGORY_BOOST: 2 } },
        { name: 'unboosted', weight: 1, strategy: 'lambda', params: { CATEGORY_BOOST: 0 } },
      ],
    });
    const hatScore = new Map<string, number>();
    while (hatScore.size < 2) {
      const answer = await recommend(await hatBrowser(), '?category=hats');
      const hat = answer.items.find((item) => item.productId === 'hat-1')!;
      hatScore.set(answer.experiment!.variant, hat.score);
    }
    expect(hatScore.get('boosted')).toBeGreaterThan(hatScore.get('unboosted')!);
  });

  it("applies a variant's DIVERSITY: maximal marginal relevance by category over the merge's best 2 × limit", async () => {
    await runExperiment({
      mode: 'ab',
      variants: [
        { name: 'as-merged', weight: 1, strategy: 'lambda', params: {} },
        { name: 'spread', weight: 1, strategy: 'lambda', params: { DIVERSITY: 0.8 } },
      ],
    });
    // New shoppers with no session all get the same best-sellers: four shoes, then hats.
    const answers = new Map<string, Map<number, RecommendationsAnswer>>();
    while (answers.size < 2) {
      const userId = `new-${randomUUID()}`;
      const byLimit = new Map<number, RecommendationsAnswer>();
      for (const limit of [2, 3, 4, 6]) byLimit.set(limit, await recommend(userId, `?limit=${limit}`));
      answers.set(byLimit.get(2)!.experiment!.variant, byLimit);
    }
    const asMerged = answers.get('as-merged')!;
    const spread = answers.get('spread')!;
    expect(asMerged.get(6)!.items.map((item) => item.category)).toEqual(['shoes', 'shoes', 'shoes', 'shoes', 'hats', 'hats']);
    // The spread list is the domain's re-rank of the merge's best 2 × limit, so serving and the eval's curve agree.
    expect(spread.get(3)!.items).toEqual(diversify(asMerged.get(6)!.items, 0.8, 3));
    expect(spread.get(3)!.items.map((item) => item.category)).toEqual(['shoes', 'hats', 'shoes']);
    // For two, the best four are all shoes: the hat in fifth place is beyond the pool.
    expect(spread.get(2)!.items).toEqual(asMerged.get(2)!.items);
    expect(spread.get(2)!.items).toEqual(diversify(asMerged.get(4)!.items, 0.8, 2));
  });

  it("keeps serving's configured DIVERSITY for a variant that does not set its own", async () => {
    await withDiversityConfigured(async (spreading) => {
      const { id } = await runExperiment({
        mode: 'ab',
        variants: [
          { name: 'plain', weight: 1, strategy: 'lambda', params: {} },
          { name: 'boosted', weight: 1, strategy: 'lambda', params: { CATEGORY_BOOST: 0.6 } },
        ],
      });
      await spreading.experiments.refresh();
      const userId = `new-${randomUUID()}`;
      const res = await spreading.app.inject(`/recommendations/${userId}?limit=3`);
      expect(res.statusCode).toBe(200);
      const answer: RecommendationsAnswer = res.json();
      expect(answer.experiment?.id).toBe(id);
      // Without a session the boost changes nothing: both variants rank the merge's best six the same.
      expect(answer.items).toEqual(diversify((await recommend(userId, '?limit=6')).items, 0.8, 3));
      expect(answer.items.map((item) => item.category)).toContain('hats');
    });
  });
});

describe('an interleaved experiment', () => {
  it('builds one list from both teams, each item naming its team, and the id alone tells every position its team', async () => {
    const { id, tag } = await runExperiment({
      mode: 'interleave',
      variants: [
        { name: 'popular', weight: 1, strategy: 'popular', params: {} },
        { name: 'lambda', weight: 1, strategy: 'lambda', params: {} },
      ],
    });
    let challengerFirst = 0;
    for (let i = 0; i < 30; i++) {
      const answer = await recommend(await hatBrowser(), '?limit=6');
      expect(answer.experiment).toEqual({ id, variant: INTERLEAVED });
      expect(new Set(answer.items.map((item) => item.productId)).size).toBe(answer.items.length);
      const decoded = decodeRecommendationId(answer.recommendationId)!;
      expect(decoded.tag).toBe(tag);
      answer.items.forEach((item, position) => expect(item.team).toBe(['popular', 'lambda'][teamAt(decoded, position)]));
      if (answer.items[0]!.team === 'lambda') challengerFirst++;
    }
    // Each team takes the top slot about half of the time (30 coin flips: 6–24 is beyond 3 standard deviations).
    expect(challengerFirst).toBeGreaterThan(5);
    expect(challengerFirst).toBeLessThan(25);
  });

  it('stops: once stopped, answers are of no experiment again', async () => {
    const { id } = await runExperiment({
      mode: 'interleave',
      variants: [
        { name: 'a', weight: 1, strategy: 'batch-only', params: {} },
        { name: 'b', weight: 1, strategy: 'lambda', params: {} },
      ],
    });
    expect((await recommend('s2')).experiment?.id).toBe(id);
    const stored = (await experiments.get(id))!;
    await experiments.put(id, { mode: stored.mode, variants: stored.variants, status: 'stopped' });
    await serving.experiments.refresh();
    expect((await recommend('s2')).experiment).toBeNull();
  });
});
