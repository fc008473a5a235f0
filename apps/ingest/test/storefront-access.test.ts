import { createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository } from '@lambdarec/stores';
import { buildClickEvent } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { buildIngestApp } from '../src/app.js';
import { CATALOG_KEY, log, pool, publisher, useIngestApp } from './ingest-app.js';

useIngestApp();

describe('browsers and the write key', () => {
  const SHOP = 'https://shop.example';

  it('answers the storefront origin with CORS headers on POST /events and its preflight, and nobody else', async () => {
    const open = await buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry('ingest-test-cors'),
      checks: {},
      storefrontOrigins: [SHOP],
    });
    try {
      const preflight = await open.inject({
        method: 'OPTIONS',
        url: '/events',
        headers: { origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(SHOP);
      expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');
      const posted = await open.inject({ method: 'POST', url: '/events', headers: { origin: SHOP }, payload: buildClickEvent() });
      expect(posted.statusCode).toBe(202);
      expect(posted.headers['access-control-allow-origin']).toBe(SHOP);
      const stranger = await open.inject({
        method: 'POST',
        url: '/events',
        headers: { origin: 'https://evil.example' },
        payload: buildClickEvent(),
      });
      expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
      const catalogPreflight = await open.inject({
        method: 'OPTIONS',
        url: '/products',
        headers: { origin: SHOP, 'access-control-request-method': 'PUT' },
      });
      expect(catalogPreflight.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await open.close();
    }
  });

  it('with a write key set, POST /events needs X-Write-Key: 401 without or with a wrong one', async () => {
    const keyed = await buildIngestApp({
      catalogApiKey: CATALOG_KEY,
      log,
      publisher,
      catalog: createCatalogRepository({ pool }),
      registry: createMetricsRegistry('ingest-test-key'),
      checks: {},
      writeKey: 'storefront-key',
    });
    try {
      expect((await keyed.inject({ method: 'POST', url: '/events', payload: buildClickEvent() })).statusCode).toBe(401);
      expect(
        (await keyed.inject({ method: 'POST', url: '/events', headers: { 'x-write-key': 'nope' }, payload: buildClickEvent() })).json()
          .code,
      ).toBe('LREC_UNAUTHORIZED');
      expect(
        (await keyed.inject({ method: 'POST', url: '/events', headers: { 'x-write-key': 'storefront-key' }, payload: buildClickEvent() }))
          .statusCode,
      ).toBe(202);
    } finally {
      await keyed.close();
    }
  });
});
