import { createKafka } from '@lambdarec/clients';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository } from '@lambdarec/stores';
import { buildClickEvent } from '@lambdarec/testing';
import { describe, expect, inject, it } from 'vitest';
import { buildIngestApp } from '../src/app.js';
import { createEventPublisher } from '../src/event-publisher.js';
import { CATALOG_KEY, log, pool, topic, useIngestApp } from './ingest-app.js';

useIngestApp();

describe('a bounded publisher queue', () => {
  it('answers 503 with Retry-After at once when too many events wait for the broker, and accepts again after', async () => {
    const kafka = createKafka({ brokers: inject('infra').kafkaBrokers, clientId: 'ingest-test-queue', log });
    const tiny = createEventPublisher({ kafka, topic: topic.topic, log, maxQueuedBytes: 1 });
    await tiny.start();
    const bounded = await buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher: tiny,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry('ingest-test-queue'),
      checks: {},
    });
    try {
      // One send in flight, one request waiting behind it: the rest find the queue full.
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => bounded.inject({ method: 'POST', url: '/events', payload: buildClickEvent() })),
      );
      const codes = answers.map((res) => res.statusCode);
      expect(codes.filter((code) => code === 202).length).toBeGreaterThanOrEqual(2);
      const full = answers.filter((res) => res.statusCode === 503);
      expect(full.length).toBeGreaterThan(0);
      for (const res of full) {
        expect(res.headers['retry-after']).toBe('1');
        expect(res.json().code).toBe('LREC_BROKER_UNAVAILABLE');
      }
      expect((await bounded.inject({ method: 'POST', url: '/events', payload: buildClickEvent() })).statusCode).toBe(202);
    } finally {
      await bounded.close();
      await tiny.close();
    }
  });
});
