import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRedis, type Redis } from '@lambdarec/clients';
import { buildClickEvent, createTestTopic, sessionStateOf, testLogger, uniqueName, waitFor, type TestTopic } from '@lambdarec/testing';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startService, WORKSPACE_ROOT } from './harness.js';

// Redis loses the session state (a flush, a crash without persistence); the speed layer's group has
// already consumed everything, so only a replay from the topic can bring the state back.
const log = testLogger('session-replay-e2e');
let topic: TestTopic;
let redis: Redis;
let env: Record<string, string>;
const keyPrefix = `${uniqueName('replay-e2e')}:`;

const snapshot = () => sessionStateOf(redis, keyPrefix);
const flush = async () => {
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
};

beforeAll(async () => {
  const { kafkaBrokers, redisUrl } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 3 });
  redis = createRedis({ url: redisUrl, log, purpose: 'requests' });
  env = {
    KAFKA_BROKERS: kafkaBrokers.join(','),
    REDIS_URL: redisUrl,
    EVENTS_TOPIC: topic.topic,
    REDIS_KEY_PREFIX: keyPrefix,
    SPEED_GROUP_ID: uniqueName('replay-e2e-speed'),
  };
  // Idempotent: a send retried under load must not put a record on the topic twice (the replay counts them).
  const producer = new Kafka({ brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const events = Array.from({ length: 30 }, (_, i) =>
    buildClickEvent({
      userId: `replay-user-${i % 5}`,
      productId: `p-${i}`,
      type: i % 4 === 0 ? 'purchase' : 'view',
      category: `c-${i % 3}`,
    }),
  );
  await producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
  await producer.disconnect();
}, 60_000);

afterAll(async () => {
  await flush();
  await redis?.quit();
  await topic?.remove();
});

describe('session state after Redis lost it', () => {
  it('comes back equal: by itself when the speed layer starts on an empty Redis, and with npm run replay-sessions', async () => {
    const first = await startService('speed', env);
    let before: Record<string, string>;
    try {
      before = await waitFor(
        async () => {
          const state = await snapshot();
          return Object.keys(state).length === 5 && Object.values(state).every((value) => value.split(';').length === 6)
            ? state
            : undefined;
        },
        { what: 'five sessions of six events each', timeoutMs: 30_000 },
      );
    } finally {
      expect(await first.stop()).toBe(0);
    }

    await flush();
    const second = await startService('speed', env);
    try {
      await waitFor(async () => (JSON.stringify(await snapshot()) === JSON.stringify(before) ? true : undefined), {
        what: 'the state replayed by the speed layer on its own',
        timeoutMs: 30_000,
      });
    } finally {
      expect(await second.stop()).toBe(0);
    }

    await flush();
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'apps/speed/src/replay-sessions-main.ts'], {
      cwd: WORKSPACE_ROOT,
      env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn', ...env },
    });
    expect(stdout).toMatch(/^replayed 30 records from .* on [1-3] partitions?; 30 events applied to sessions$/m);
    expect(await snapshot()).toEqual(before);
  }, 120_000);
});
