import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createKafka, createRedis, type EventConsumer, type Redis } from '@lambdarec/clients';
import { DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createSessionStore } from '@lambdarec/stores';
import { buildClickEvent, createTestTopic, restartablePort, testLogger, uniqueName, waitFor, type TestTopic } from '@lambdarec/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSpeedConsumer } from '../src/consumer.js';

// Fault injection needs a Redis of this test's own to stop and start; the shared one serves every
// other test. It is the Debian redis-server that infra/local.sh installs.
const redisServer = spawnSync('redis-server', ['--version']).status === 0;
const log = testLogger('speed-outage-test');
const policy = DEFAULT_SESSION_POLICY;
let port: number;
let dir: string;
let server: ChildProcess | undefined;
let topic: TestTopic;
let producer: Producer;
let speed: EventConsumer;
let redis: Redis;

async function startRedis() {
  server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
    {
      stdio: 'ignore',
    },
  );
  const probe = createRedis({ url: `redis://127.0.0.1:${port}`, log, purpose: 'requests' });
  try {
    await waitFor(() => probe.ping().then((pong) => (pong === 'PONG' ? true : undefined)), {
      what: 'the private redis',
      timeoutMs: 10_000,
    });
  } finally {
    probe.disconnect();
  }
}

async function stopRedis() {
  const stopped = new Promise((resolve) => server?.once('exit', resolve));
  server?.kill('SIGKILL');
  await stopped;
}

beforeAll(async () => {
  if (!redisServer) return;
  port = restartablePort();
  dir = mkdtempSync(path.join(tmpdir(), 'lrec-redis-'));
  await startRedis();
  const { kafkaBrokers } = inject('infra');
  topic = await createTestTopic(kafkaBrokers, { partitions: 2 });
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'speed-outage-test', log });
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  redis = createRedis({ url: `redis://127.0.0.1:${port}`, log, purpose: 'requests' });
  speed = createSpeedConsumer({
    kafka,
    topic: topic.topic,
    groupId: uniqueName('speed-outage'),
    sessions: createSessionStore({ redis, keyPrefix: 'outage:', policy }),
    policy,
    log,
    registry: createMetricsRegistry('speed-outage-test'),
  });
  await speed.start();
});

afterAll(async () => {
  await speed?.close();
  await producer?.disconnect();
  redis?.disconnect();
  if (server !== undefined) await stopRedis();
  await topic?.remove();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const sessionOf = (userId: string) => createSessionStore({ redis, keyPrefix: 'outage:', policy }).read(userId);

describe.skipIf(!redisServer)('speed layer during a Redis outage', () => {
  it('loses no event: what arrives while Redis is down is applied once it is back', async () => {
    const before = buildClickEvent({ userId: 'outage-1', productId: 'before' });
    await producer.send({ topic: topic.topic, acks: -1, messages: [{ key: before.userId, value: JSON.stringify(before) }] });
    await waitFor(async () => ((await sessionOf('outage-1')).signals.length === 1 ? true : undefined), { what: 'the first event' });

    await stopRedis();
    const during = [
      buildClickEvent({ userId: 'outage-1', productId: 'during-1' }),
      buildClickEvent({ userId: 'outage-1', productId: 'during-2', type: 'purchase' }),
      buildClickEvent({ userId: 'outage-2', productId: 'during-3' }),
    ];
    await producer.send({ topic: topic.topic, acks: -1, messages: during.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    // Long enough for the consumer to fetch them and fail against the missing Redis.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await startRedis();

    const first = await waitFor(
      async () => {
        const session = await sessionOf('outage-1');
        return session.signals.length === 3 ? session : undefined;
      },
      { what: 'the events sent during the outage', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(first.signals.map((s) => s.productId).sort()).toEqual(['before', 'during-1', 'during-2']);
    expect([...first.purchases.keys()]).toEqual(['during-2']);
    expect((await sessionOf('outage-2')).signals.map((s) => s.productId)).toEqual(['during-3']);
  });
});
