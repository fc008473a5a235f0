import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dlqTopicFor, eventTopicConfigEntries } from '@lambdarec/contracts';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';

/** A name no other test uses: topics, queues, key prefixes, consumer groups. */
export const uniqueName = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database per test file, migrated by `migrate`, dropped afterwards. */
export async function createTestDatabase(baseUrl: string, migrate: (url: string) => Promise<unknown>): Promise<TestDatabase> {
  const name = uniqueName('lrec_t').replace(/-/g, '_');
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestTopic {
  topic: string;
  dlq: string;
  remove(): Promise<void>;
}

/** A topic (and its DLQ) of its own for one test, deleted afterwards. */
export async function createTestTopic(brokers: string[], { partitions = 3 }: { partitions?: number } = {}): Promise<TestTopic> {
  const topic = uniqueName('t.events');
  const dlq = dlqTopicFor(topic);
  const kafka = new Kafka({ clientId: 'lrec-test-admin', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      // kafkajs' own wait retries only LEADER_NOT_AVAILABLE, but a KRaft broker answers
      // UNKNOWN_TOPIC_OR_PARTITION until the new topic's metadata has propagated: poll instead.
      waitForLeaders: false,
      topics: [
        { topic, numPartitions: partitions, replicationFactor: 1, configEntries: eventTopicConfigEntries() },
        { topic: dlq, numPartitions: 1, replicationFactor: 1, configEntries: eventTopicConfigEntries() },
      ],
    });
    await waitFor(
      async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic, dlq] });
        return topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)) ? true : undefined;
      },
      { what: `leaders for ${topic}`, timeoutMs: 30_000, intervalMs: 100 },
    );
  } finally {
    await admin.disconnect();
  }
  return {
    topic,
    dlq,
    async remove() {
      const cleanup = kafka.admin();
      await cleanup.connect();
      try {
        await cleanup.deleteTopics({ topics: [topic, dlq] });
      } finally {
        await cleanup.disconnect();
      }
    },
  };
}

/** Polls until `check` returns a value other than undefined, or fails with its last error after the timeout. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 20_000, intervalMs = 50, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * A port for a server that a test stops and starts again on the same port. It is drawn below the
 * kernel's ephemeral range: a port from that range can be taken, between the stop and the start,
 * as the local port of some other process's outgoing connection (seen under load: "could not
 * start server"). Ports 21000–22999 are left to the tests' fixed clusters (TEST_REDIS_CLUSTER,
 * the cluster smoke test).
 */
export function restartablePort(): number {
  let low = 32_768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: keep the usual default
  }
  const top = Math.min(low, 32_768) - 2;
  return 23_000 + Math.floor(Math.random() * (top - 23_000));
}
