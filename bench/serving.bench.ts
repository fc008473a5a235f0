/**
 * `npm run bench`: serving's GET /recommendations/:userId against a bare Fastify route that sends
 * an answer of the same size, both measured in this run on this machine. The machines are shared
 * and noisy, so the figure that matters is the ratio, not the absolute numbers.
 *
 * Data: the demo shop (80 products, ~1,300 events, 60 users) archived into a database of its own,
 * one published batch run, and a live session (views and a purchase) for every user in Redis.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { createLogger, createPgPool, createRedis } from '@lambdarec/clients';
import { computeBatchModel, DEFAULT_BATCH_POLICY, DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/http';
import {
  createArchiveReader,
  createBatchRunsRepository,
  createBatchViewRepository,
  createCatalogRepository,
  createEventArchive,
  createSessionStore,
  publishWholeModel,
  runMigrations,
} from '@lambdarec/stores';
import { createTestDatabase, demoCatalog, demoEvents, startInfra, uniqueName } from '@lambdarec/testing';
import { buildServingApp, createBatchViewCache, createCatalogFactsCache, createRecommender, createSimilarItemsCache } from '@lambdarec/serving';

const DURATION_S = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = 10;
const log = createLogger({ name: 'bench', level: 'error' });
const say = (line: string) => process.stdout.write(`${line}\n`);

const infra = await startInfra();
const db = await createTestDatabase(infra.databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
const pool = createPgPool({ url: db.url, log, applicationName: 'bench', max: 20 });
const redis = createRedis({ url: infra.redisUrl, log, purpose: 'requests' });
const keyPrefix = `${uniqueName('bench')}:`;
const policy = DEFAULT_SESSION_POLICY;

try {
  const events = demoEvents();
  const users = [...new Set(events.map((e) => e.userId))];
  await createCatalogRepository({ pool }).upsert(demoCatalog());
  await createEventArchive({ pool }).append({
    topic: 'bench',
    partition: 0,
    nextOffset: String(events.length),
    events: events.map((event, i) => ({ event: { ...event, eventId: randomUUID() }, eventTime: new Date(event.timestamp), offset: String(i) })),
  });
  const runs = createBatchRunsRepository({ pool });
  const runId = randomUUID();
  await runs.create({ runId, trigger: 'bench' });
  await runs.markRunning(runId);
  const reader = createArchiveReader({ pool });
  const input = await reader.freezeInput(runId, { historyDays: 365, maxItemsPerUser: DEFAULT_BATCH_POLICY.maxItemsPerUser, now: Date.now() });
  const interactions = [];
  for await (const user of reader.users(runId)) interactions.push(...user.rows);
  await publishWholeModel({ pool, runs }, runId, computeBatchModel(interactions, Date.now(), DEFAULT_BATCH_POLICY), {}, input.watermark);

  const sessions = createSessionStore({ redis, keyPrefix, policy });
  const now = Date.now();
  for (const userId of users) {
    const recent = events.filter((e) => e.userId === userId).slice(-5);
    await sessions.record(
      recent.map((e, i) => ({ eventId: randomUUID(), userId, type: i === 4 ? 'purchase' : 'view', productId: e.productId, category: e.category, at: now - i * 60_000 })),
    );
  }

  const batchView = createBatchViewRepository({ pool });
  const catalog = createCatalogRepository({ pool });
  const cache = createBatchViewCache({ batchView, catalog, refreshMs: 60_000, log });
  await cache.start();
  const serving = await buildServingApp({
    log,
    registry: createMetricsRegistry('bench'),
    checks: {},
    recommender: createRecommender({
      sessions,
      batchView,
      batchCache: cache,
      similarItems: createSimilarItemsCache({ batchView }),
      catalog: createCatalogFactsCache({ catalog, ttlMs: 1000 }),
      policy,
      log,
    }),
  });
  await serving.listen({ port: 0, host: '127.0.0.1' });
  const sample = await (await fetch(`http://127.0.0.1:${(serving.server.address() as { port: number }).port}/recommendations/${users[0]}`)).text();

  // The baseline: the same framework, the same answer size, no work.
  const bare = Fastify();
  bare.get('/recommendations/:userId', async (_request, reply) => reply.type('application/json').send(sample));
  await bare.listen({ port: 0, host: '127.0.0.1' });

  const measure = async (name: string, port: number) => {
    let next = 0;
    const result = await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections: CONNECTIONS,
      duration: DURATION_S,
      requests: [{ setupRequest: (req) => ({ ...req, path: `/recommendations/${users[next++ % users.length]}` }) }],
    });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    say(
      `${name.padEnd(22)} ${result.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(result.latency.p50).padStart(3)} ms   ` +
        `p99 ${String(result.latency.p99).padStart(3)} ms   (${result.requests.total} requests)`,
    );
    return result;
  };

  say(`serving benchmark: ${users.length} users, ${CONNECTIONS} connections, ${DURATION_S} s each, answer ${sample.length} bytes`);
  const baseline = await measure('bare Fastify route', (bare.server.address() as { port: number }).port);
  const real = await measure('GET /recommendations', (serving.server.address() as { port: number }).port);
  say(
    `ratio serving / bare: throughput ${(real.requests.average / baseline.requests.average).toFixed(2)}, ` +
      `p99 latency ${(real.latency.p99 / Math.max(1, baseline.latency.p99)).toFixed(1)}x`,
  );
  await bare.close();
  await serving.close();
  await cache.close();
} finally {
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await pool.end();
  await db.drop();
  await infra.stop();
}
