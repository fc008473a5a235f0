import { HISTORY_IMPORT_HEADER, botFlagDayKey } from '@lambdarec/contracts';
import { createKafka, createRedis, type EventConsumer, type Redis } from '@lambdarec/clients';
import { DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createBotFlagLedger, createSessionStore, type BotFlagInterval } from '@lambdarec/stores';
import { buildClickEvent, createTestTopic, removeKeys, testLogger, uniqueName, waitFor, type TestTopic } from '@lambdarec/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSpeedConsumer } from '../src/consumer.js';

const log = testLogger('speed-bot-guard-test');
// A short flag, so that a test can see one end.
const policy = { ...DEFAULT_SESSION_POLICY, botFlagMs: 3000 };
const limit = policy.botMaxEventsPerMinute;
let topic: TestTopic;
let redis: Redis;
let keyPrefix: string;
let producer: Producer;
let speed: EventConsumer;

beforeAll(async () => {
  const { kafkaBrokers, redisUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 2 });
  redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
  keyPrefix = `${uniqueName('speed-bot')}:`;
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'speed-bot-guard-test', log });
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  speed = createSpeedConsumer({
    kafka,
    topic: topic.topic,
    groupId: uniqueName('speed-bot-group'),
    sessions: createSessionStore({
      redis,
      keyPrefix,
      policy,
      botFlags: createBotFlagLedger({ redis, keyPrefix, attempts: 2, retryDelayMs: 10 }),
    }),
    policy,
    log,
    registry: createMetricsRegistry('speed-bot-guard-test'),
  });
  await speed.start();
});

afterAll(async () => {
  await speed?.close();
  await producer?.disconnect();
  await removeKeys(redis, `${keyPrefix}*`);
  await redis?.quit();
  await topic?.remove();
});

/** Events sent in one request, as a client would post them: they arrive together. */
const send = (events: ReturnType<typeof buildClickEvent>[], headers?: Record<string, string>) =>
  producer.send({
    topic: topic.topic,
    acks: -1,
    messages: events.map((event) => ({ key: event.userId, value: JSON.stringify(event), ...(headers ? { headers } : {}) })),
  });

const store = () => createSessionStore({ redis, keyPrefix, policy });
// Generous: with the whole suite on two cores, a partition's batch can wait out a few Redis timeouts and retries.
const flagOf = (userId: string) =>
  waitFor(async () => (await store().inspect(userId)).botFlag, { what: `a bot flag on ${userId}`, timeoutMs: 60_000 });

describe('the bot guard in the speed layer', () => {
  it('judges arrival: spaced timestamps alternating two products, and events dated 3 h ago, sent in a burst, are flagged; a checkout and a history import are not', async () => {
    const now = Date.now();
    const iso = (time: number) => new Date(time).toISOString();
    // Dated 1.2 s apart (50 a minute in event time) alternating two products: neither rule fires on those times.
    await send(
      Array.from({ length: limit + 1 }, (_, i) =>
        buildClickEvent({ userId: 'bg-alternating', productId: i % 2 === 0 ? 'a' : 'b', timestamp: iso(now - 60 * 60_000 + i * 1200) }),
      ),
    );
    // Dated before the session window: the session keeps none of them, and they used to skip the guard.
    await send(
      Array.from({ length: limit + 1 }, (_, i) =>
        buildClickEvent({ userId: 'bg-backdated', productId: `p${i}`, timestamp: iso(now - 3 * 60 * 60_000 + i * 1200) }),
      ),
    );
    // One checkout: a purchase per line, in one request.
    await send(
      Array.from({ length: 80 }, (_, i) =>
        buildClickEvent({ userId: 'bg-shopper', type: 'purchase', productId: `line-${i}`, timestamp: iso(now) }),
      ),
    );
    // The operator's history import, just as dense.
    await send(
      Array.from({ length: limit + 1 }, (_, i) =>
        buildClickEvent({ userId: 'bg-import', productId: `p${i}`, timestamp: iso(now - 30 * 60_000 + i * 1200) }),
      ),
      { [HISTORY_IMPORT_HEADER]: '1' },
    );

    expect((await flagOf('bg-alternating')).reason).toBe('rate');
    expect((await store().read('bg-alternating')).signals).toEqual([]);
    const backdated = await flagOf('bg-backdated');
    expect(backdated.reason).toBe('rate');
    expect(backdated.from).toBeGreaterThanOrEqual(now - 5000);
    expect((await store().inspect('bg-backdated')).signals).toEqual([]);

    const shopper = await waitFor(async () => {
      const s = await store().read('bg-shopper');
      return s.purchases.size === 80 ? s : undefined;
    });
    expect(shopper.botFlag).toBeUndefined();
    expect(shopper.signals).toHaveLength(80);
    const imported = await waitFor(async () => {
      const s = await store().read('bg-import');
      return s.signals.length === limit + 1 ? s : undefined;
    });
    expect(imported.botFlag).toBeUndefined();
  });

  it('a stranger flooding a customer\u2019s id costs the customer only the burst: their earlier events count throughout, and their later ones after the flag', async () => {
    const own = ['garden-chair', 'garden-table', 'parasol'].map((productId) =>
      buildClickEvent({ userId: 'bg-victim', productId, category: 'garden' }),
    );
    for (const event of own) await send([event]);
    const ownProducts = (signals: Array<{ productId: string }>) => signals.map((s) => s.productId).sort();
    await waitFor(async () => ((await store().read('bg-victim')).signals.length === 3 ? true : undefined));

    // Another client sends the same page again and again under the customer's id.
    await send(Array.from({ length: 4 }, () => buildClickEvent({ userId: 'bg-victim', productId: 'reloaded', category: 'tools' })));
    const flag = await flagOf('bg-victim');
    expect(flag.reason).toBe('repeat');
    expect(ownProducts((await store().read('bg-victim')).signals)).toEqual(['garden-chair', 'garden-table', 'parasol']);

    // After the flag's end (arrival time), the customer's events count again.
    await waitFor(() => (Date.now() > flag.until + 200 ? true : undefined));
    await send([buildClickEvent({ userId: 'bg-victim', productId: 'hammock', category: 'garden' })]);
    const after = await waitFor(async () => {
      const s = await store().read('bg-victim');
      return s.signals.length === 4 ? s : undefined;
    });
    expect(ownProducts(after.signals)).toEqual(['garden-chair', 'garden-table', 'hammock', 'parasol']);
    // The flood is still there for the operator, marked.
    expect((await store().inspect('bg-victim')).signals.filter((s) => s.botBurst)).toHaveLength(4);
  });

  it('a flag whose ledger write failed is recorded when the consumer delivers its events again', async () => {
    const day = (time: number) => new Date(time).toISOString().slice(0, 10);
    // Keys of the wrong type where today's (and, near midnight, tomorrow's) flags go: every ledger write fails.
    const dayKeys = [...new Set([day(Date.now()), day(Date.now() + 60_000)])].map((d) => botFlagDayKey(keyPrefix, d));
    for (const key of dayKeys) await redis.set(key, 'in the way');
    await send(Array.from({ length: 3 }, () => buildClickEvent({ userId: 'bg-ledger', productId: 'reloaded' })));
    // The session script ran and flagged the user; the ledger write failed, so the batch is retried.
    const flag = await flagOf('bg-ledger');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await redis.del(...dayKeys);
    const ledger = createBotFlagLedger({ redis, keyPrefix });
    const recorded = await waitFor(
      async () => {
        const flags: BotFlagInterval[] = [];
        for await (const page of ledger.flagsSince(0)) flags.push(...page);
        return flags.find((f) => f.userId === 'bg-ledger');
      },
      { what: 'the flag in the ledger', timeoutMs: 30_000 },
    );
    expect(recorded).toEqual({ userId: 'bg-ledger', reason: 'repeat', from: flag.from, until: flag.until });
  });
});
