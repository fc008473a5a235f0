import { createCatalogRepository } from '@lambdarec/stores';
import { buildProduct } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { app, CATALOG_KEY, catalogAuth, pool, useIngestApp } from './ingest-app.js';

useIngestApp();

describe('PUT /products', () => {
  it('answers 401 without the catalog API key, with a wrong one or another scheme, and stores nothing', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer not-the-key-at-all' },
      { authorization: `Basic ${Buffer.from(`x:${CATALOG_KEY}`).toString('base64')}` },
      { authorization: CATALOG_KEY },
    ]) {
      const res = await app.inject({
        method: 'PUT',
        url: '/products',
        headers,
        payload: [buildProduct({ productId: 'intruder', inStock: false })],
      });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.json().code).toBe('LREC_UNAUTHORIZED');
    }
    expect((await createCatalogRepository({ pool }).facts(['intruder'])).size).toBe(0);
  });

  it('upserts products into the catalog', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/products',
      headers: catalogAuth,
      payload: { products: [buildProduct({ productId: 'pp-1' }), buildProduct({ productId: 'pp-2', inStock: false })] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ upserted: 2 });
    const facts = await createCatalogRepository({ pool }).facts(['pp-1', 'pp-2']);
    expect(facts.get('pp-2')?.inStock).toBe(false);
  });

  it('rejects a bad product with 400 naming the field', async () => {
    const res = await app.inject({ method: 'PUT', url: '/products', headers: catalogAuth, payload: [{ productId: 'ok-1', price: -3 }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/price/);
  });

  it('answers a type error with 400 naming the product and field, in both body forms', async () => {
    const inArray = await app.inject({
      method: 'PUT',
      url: '/products',
      headers: catalogAuth,
      payload: [{ productId: 'pt-1', price: 'abc' }],
    });
    expect(inArray.statusCode).toBe(400);
    expect(inArray.json()).toMatchObject({
      code: 'LREC_INVALID_PRODUCT',
      message: '0.price: Invalid input: expected number, received string',
      issues: [{ path: [0, 'price'], message: 'Invalid input: expected number, received string' }],
    });
    const wrapped = await app.inject({
      method: 'PUT',
      url: '/products',
      headers: catalogAuth,
      payload: { products: [{ productId: 'pt-1', inStock: 'no' }] },
    });
    expect(wrapped.statusCode).toBe(400);
    expect(wrapped.json()).toMatchObject({
      code: 'LREC_INVALID_PRODUCT',
      message: 'products.0.inStock: Invalid input: expected boolean, received string',
      issues: [{ path: ['products', 0, 'inStock'], message: 'Invalid input: expected boolean, received string' }],
    });
    expect((await createCatalogRepository({ pool }).facts(['pt-1'])).has('pt-1')).toBe(false);
  });

  it('rejects a body that is neither a list nor {"products": [...]} with 400', async () => {
    const res = await app.inject({ method: 'PUT', url: '/products', headers: catalogAuth, payload: { productId: 'pt-2' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'LREC_INVALID_PRODUCT', issues: [{ path: [] }] });
  });

  it('answers 413 for 1,001 products and stores none of them', async () => {
    const products = Array.from({ length: 1001 }, (_, i) => ({ productId: `pl-${i}` }));
    const res = await app.inject({ method: 'PUT', url: '/products', headers: catalogAuth, payload: products });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'LREC_PAYLOAD_TOO_LARGE', issues: [{ path: [] }] });
    expect((await createCatalogRepository({ pool }).facts(['pl-0'])).has('pl-0')).toBe(false);
  });

  it('when a price-only update arrives, a sold-out product stays sold out and keeps its category', async () => {
    const put = (payload: object) => app.inject({ method: 'PUT', url: '/products', headers: catalogAuth, payload });
    expect((await put([{ productId: 'pp-3', category: 'tea', inStock: false }])).statusCode).toBe(200);
    expect((await put([{ productId: 'pp-3', price: 9 }])).json()).toEqual({ upserted: 1 });
    expect((await createCatalogRepository({ pool }).facts(['pp-3'])).get('pp-3')).toEqual({ category: 'tea', inStock: false });
  });
});
