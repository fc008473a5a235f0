import { existsSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { buildClickEvent, createTestDatabase, createTestTopic, dockerLikelyAvailable, uniqueName, waitFor } from '../src/index.js';

describe('isolation helpers', () => {
  it('gives every caller a different name', () => {
    const names = new Set(Array.from({ length: 50 }, () => uniqueName('t')));
    expect(names.size).toBe(50);
  });

  it('creates a migrated database of its own and drops it', async () => {
    const { databaseUrl } = inject('infra');
    let migratedUrl = '';
    const db = await createTestDatabase(databaseUrl, async (url) => {
      migratedUrl = url;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('CREATE TABLE marker (id int)');
      await client.end();
    });
    expect(migratedUrl).toBe(db.url);
    const name = new URL(db.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      expect((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount).toBe(1);
      await db.drop();
      expect((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('creates a topic and its DLQ with the asked partitions, and removes both', async () => {
    const { kafkaBrokers } = inject('infra');
    const topic = await createTestTopic(kafkaBrokers, { partitions: 4 });
    const admin = new Kafka({ clientId: 'testing-test', brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic.topic, topic.dlq] });
      expect(Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]))).toEqual({ [topic.topic]: 4, [topic.dlq]: 1 });
      await topic.remove();
      const remaining = await waitFor(async () => {
        const names = await admin.listTopics();
        return names.includes(topic.topic) ? undefined : names;
      });
      expect(remaining).not.toContain(topic.dlq);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('waitFor', () => {
  it('resolves with the first defined value', async () => {
    let calls = 0;
    expect(await waitFor(() => (++calls === 3 ? 'ready' : undefined), { intervalMs: 1 })).toBe('ready');
  });

  it('fails after the timeout naming what it waited for, with the last error as cause', async () => {
    const error = await waitFor(
      () => {
        throw new Error('still down');
      },
      { timeoutMs: 30, intervalMs: 5, what: 'the broker' },
    ).catch((err: Error) => err);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/waiting for the broker/);
    expect(((error as Error).cause as Error).message).toBe('still down');
  });
});

describe('docker detection', () => {
  it('says yes when DOCKER_HOST is set and no when neither it nor the socket exists', async () => {
    expect(await dockerLikelyAvailable({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toBe(true);
    const socketExists = existsSync('/var/run/docker.sock');
    expect(await dockerLikelyAvailable({})).toBe(socketExists);
    expect(await dockerLikelyAvailable({ DOCKER_HOST: '' })).toBe(socketExists);
  });
});

describe('builders', () => {
  it('build a valid event with overrides applied', () => {
    const event = buildClickEvent({ userId: 'u-9', type: 'purchase' });
    expect(event).toMatchObject({ userId: 'u-9', type: 'purchase' });
    expect(event.eventId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
