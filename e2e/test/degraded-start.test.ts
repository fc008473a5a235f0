import { describe, expect, inject, it } from 'vitest';
import { waitFor } from '@lambdarec/testing';
import { buildClickEvent, createTestTopic } from '@lambdarec/testing';
import { freePort, spawnService } from './harness.js';

describe('serving without Postgres', () => {
  it('starts ready with postgres degraded on /readyz, and answers 200 with degraded ["batch"]', async () => {
    const port = await freePort();
    const {
      process: child,
      exited,
      output,
    } = spawnService('serving', {
      PORT: String(port),
      DATABASE_URL: 'postgres://lambdarec:lambdarec@127.0.0.1:1/lambdarec',
      REDIS_URL: inject('infra').redisUrl,
      REDIS_KEY_PREFIX: 'degraded-start:',
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), {
        what: `serving to listen:\n${output()}`,
        timeoutMs: 30_000,
      });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'degraded', down: [], degraded: ['postgres'] });
      const answer = await fetch(`${base}/recommendations/u-1`);
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ userId: 'u-1', items: [], sources: { batchRunId: null }, degraded: ['batch'] });
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});

describe('ingest without Postgres', () => {
  it('starts ready, accepts events, and answers PUT /products with 503 and Retry-After', async () => {
    const { kafkaBrokers, redisUrl } = inject('infra');
    const topic = await createTestTopic(kafkaBrokers, { partitions: 1 });
    const port = await freePort();
    const key = 'degraded-catalog-key';
    const {
      process: child,
      exited,
      output,
    } = spawnService('ingest', {
      PORT: String(port),
      DATABASE_URL: 'postgres://lambdarec:lambdarec@127.0.0.1:1/lambdarec',
      KAFKA_BROKERS: kafkaBrokers.join(','),
      EVENTS_TOPIC: topic.topic,
      CATALOG_API_KEY: key,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: 'degraded-ingest:',
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), {
        what: `ingest to listen:\n${output()}`,
        timeoutMs: 30_000,
      });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'degraded', down: [], degraded: ['postgres'] });
      const events = await fetch(`${base}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(buildClickEvent()),
      });
      expect(events.status).toBe(202);
      const catalog = await fetch(`${base}/products`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify([{ productId: 'p-1' }]),
      });
      expect(catalog.status).toBe(503);
      expect(catalog.headers.get('retry-after')).toBe('5');
      expect(((await catalog.json()) as { code: string }).code).toBe('LREC_STORE_UNAVAILABLE');
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await topic.remove();
    }
  });
});
