import { closeRedis, createRedis, type Redis } from '@lambdarec/clients';
import { type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository } from '@lambdarec/stores';
import { buildClickEvent, connectTestRedis, uniqueName } from '@lambdarec/testing';
import { describe, expect, inject, it } from 'vitest';
import { buildIngestApp } from '../src/app.js';
import { createRedisRateLimiter, type RateLimiter } from '../src/rate-limiter.js';
import { CATALOG_KEY, log, pool, publisher, redis, useIngestApp } from './ingest-app.js';

useIngestApp();

describe('rate limiting', () => {
  const limiterFor = (keyPrefix: string, limitPerMinute: number, client: Redis = redis) =>
    createRedisRateLimiter({ redis: client, keyPrefix, limitPerMinute, log });
  const appWith = (rateLimiter: RateLimiter, name: string) =>
    buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry(name),
      checks: {},
      rateLimiter,
    });
  const post = (target: HttpServer, count: number) =>
    target.inject({ method: 'POST', url: '/events', payload: Array.from({ length: count }, () => buildClickEvent()) });

  it('counts events, not requests: 429 with Retry-After once a client is over its events a minute, and keeps health reachable', async () => {
    const limited = await appWith(limiterFor(`${uniqueName('rl')}:`, 5), 'ingest-test-429');
    try {
      expect((await post(limited, 3)).statusCode).toBe(202);
      const refused = await post(limited, 3);
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'LREC_RATE_LIMITED' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      // A refused request spends nothing: two more events still fit.
      expect((await post(limited, 2)).statusCode).toBe(202);
      expect((await post(limited, 1)).statusCode).toBe(429);
      expect((await limited.inject('/healthz')).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('an invalid body spends its events too, a malformed one 1, and a client whose budget is spent gets 429 before its body is parsed', async () => {
    const limited = await appWith(limiterFor(`${uniqueName('rl-invalid')}:`, 5), 'ingest-test-rl-invalid');
    const bad = (count: number) => Array.from({ length: count }, () => ({ ...buildClickEvent(), type: 'like' }));
    const postBody = (payload: unknown) => limited.inject({ method: 'POST', url: '/events', payload: payload as object });
    const malformed = () =>
      limited.inject({ method: 'POST', url: '/events', headers: { 'content-type': 'application/json' }, payload: '{"userId":' });
    try {
      expect((await postBody(bad(3))).statusCode).toBe(400);
      // 3 of 5 spent by the invalid request: 3 valid events are over the budget.
      expect((await post(limited, 3)).statusCode).toBe(429);
      expect((await malformed()).statusCode).toBe(400);
      // 4 spent: 2 are over, 1 fits.
      expect((await post(limited, 2)).statusCode).toBe(429);
      expect((await post(limited, 1)).statusCode).toBe(202);
      // All 5 spent: the next body is refused unread (parsed, it would be a 400).
      const refused = await malformed();
      expect(refused.statusCode).toBe(429);
      expect(refused.json().code).toBe('LREC_RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it('shares one budget across ingest instances', async () => {
    const prefix = `${uniqueName('rl-shared')}:`;
    const [a, b] = [await appWith(limiterFor(prefix, 4), 'ingest-test-rl-a'), await appWith(limiterFor(prefix, 4), 'ingest-test-rl-b')];
    try {
      expect((await post(a, 3)).statusCode).toBe(202);
      expect((await post(b, 2)).statusCode).toBe(429);
      expect((await post(b, 1)).statusCode).toBe(202);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('lets events through when Redis cannot answer (losing the limit, not the events)', async () => {
    const dead = createRedis({ url: 'redis://127.0.0.1:1', log, purpose: 'requests', options: { retryStrategy: () => null } });
    const unlimited = await appWith(limiterFor('dead:', 1, dead), 'ingest-test-rl-dead');
    try {
      expect((await post(unlimited, 3)).statusCode).toBe(202);
    } finally {
      await unlimited.close();
      dead.disconnect();
    }
  });

  it('on a Redis Cluster, two ingest instances (clients) share one budget per client and minute', async () => {
    const [a, b] = [await connectTestRedis('a Redis Cluster', inject('infra')), await connectTestRedis('a Redis Cluster', inject('infra'))];
    const keyPrefix = `${uniqueName('rl-cluster')}:`;
    const first = await appWith(createRedisRateLimiter({ redis: a, keyPrefix, limitPerMinute: 5, log }), 'ingest-test-rl-cluster-a');
    const second = await appWith(createRedisRateLimiter({ redis: b, keyPrefix, limitPerMinute: 5, log }), 'ingest-test-rl-cluster-b');
    try {
      expect((await post(first, 3)).statusCode).toBe(202);
      expect((await post(second, 3)).statusCode).toBe(429);
      expect((await post(second, 2)).statusCode).toBe(202);
      expect((await post(first, 1)).statusCode).toBe(429);
    } finally {
      await first.close();
      await second.close();
      await Promise.all([closeRedis(a), closeRedis(b)]);
    }
  });
});
