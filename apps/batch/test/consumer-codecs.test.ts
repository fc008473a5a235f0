import { spawn } from 'node:child_process';
import { createEventConsumer, createKafka, type EventConsumer } from '@lambdarec/clients';
import { buildClickEvent, createTestTopic, testLogger, uniqueName, waitFor, type TestTopic } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordingMetrics } from './recording-metrics.js';

const log = testLogger('consumer-codecs-test');
let brokers: string[];
let topic: TestTopic;
let consumer: EventConsumer;
const consumed = new Set<string>();
const { metrics, deadLettered } = recordingMetrics();

/**
 * Publishes with kcat (librdkafka), a non-JS producer, the way another team's service would:
 * keyed by userId with the Java/kafkajs partitioner and the given codec.
 */
function produceWithKcat(codec: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const kcat = spawn(
      'kcat',
      ['-b', brokers.join(','), '-P', '-t', topic.topic, '-z', codec, '-K', '\t', '-X', 'partitioner=murmur2_random', '-X', 'linger.ms=50'],
      {
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    kcat.stderr.on('data', (chunk) => (stderr += chunk));
    kcat.on('error', reject);
    kcat.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat -z ${codec} exited with ${code}: ${stderr}`))));
    kcat.stdin.end(`${lines.join('\n')}\n`);
  });
}

beforeAll(async () => {
  brokers = inject('infra').kafkaBrokers;
  topic = await createTestTopic(brokers, { partitions: 2 });
  consumer = createEventConsumer({
    kafka: createKafka({ brokers, clientId: 'consumer-codecs-test', log }),
    topic: topic.topic,
    groupId: uniqueName('codecs'),
    log,
    metrics,
    handle: async ({ events }) => {
      for (const { event } of events) consumed.add(event.eventId);
    },
  });
  await consumer.start();
});

afterAll(async () => {
  await consumer?.close();
  await topic?.remove();
});

describe('records compressed by another Kafka client', () => {
  it.each(['gzip', 'snappy', 'lz4', 'zstd'])('consumes a %s-compressed batch from kcat, every event once', async (codec) => {
    // Two hundred similar events compress well, so librdkafka really sends them compressed.
    const events = Array.from({ length: 200 }, (_, i) => buildClickEvent({ userId: `${codec}-user-${i % 7}`, productId: `p-${i % 11}` }));
    await produceWithKcat(
      codec,
      events.map((e) => `${e.userId}\t${JSON.stringify(e)}`),
    );
    await waitFor(async () => (events.every((e) => consumed.has(e.eventId)) ? true : undefined), {
      what: `the ${codec} events`,
      timeoutMs: 30_000,
    });
    expect(consumer.isRunning()).toBe(true);
    expect(deadLettered).toEqual([]);
  });
});
