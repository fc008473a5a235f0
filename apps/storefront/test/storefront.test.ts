import { createPgPool, type PgPool } from '@lambdarec/clients';
import type { RecommendationsAnswer, SimilarItemsAnswer } from '@lambdarec/contracts';
import { type HttpServer } from '@lambdarec/http';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository, runMigrations } from '@lambdarec/stores';
import { buildProduct, createTestDatabase, testLogger, type TestDatabase } from '@lambdarec/testing';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createStorefront, type StorefrontSettings } from '../src/app.js';

const log = testLogger('storefront-test');
const HOSTILE_TITLE = '<img src=x onerror="alert(1)">Tea & "biscuits"';
const HOSTILE_CATEGORY = 'snacks<script>';
const SETTINGS: StorefrontSettings = {
  SERVING_URL: 'http://serving.test',
  INGEST_URL: 'http://ingest.test',
  EVENTS_WRITE_KEY: undefined,
  STOREFRONT_SHOPPERS: ['alice', 'bob'],
  SERVING_TIMEOUT_MS: 500,
};

let db: TestDatabase;
let pool: PgPool;
let app: HttpServer;
/** What serving was asked, in order: the stand-in below records every request. */
let servingRequests: string[] = [];
let servingUp = true;
/** Off: serving answers as before the experiments release, without recommendationId and experiment. */
let servingNamesAnswers = true;
const RECOMMENDATION_ID = '3f0c6a52-9d1e-4b7a-8c2f-5e4d3c2b1a09';

const recommendations = (userId: string): RecommendationsAnswer => ({
  userId,
  recommendationId: RECOMMENDATION_ID,
  experiment: null,
  items: [
    { productId: 'biscuits', score: 0.9, category: HOSTILE_CATEGORY, reasons: ['batch:similar-to:tea', 'session:category-boost:snacks'] },
    { productId: 'ghost', score: 0.5, category: 'unknown', reasons: ['popular'] },
  ],
  sources: { batchRunId: 'run-1', batchPublishedAt: new Date().toISOString(), session: true },
  degraded: [],
});

const similar = (productId: string): SimilarItemsAnswer => ({
  productId,
  items: [{ productId: 'biscuits', score: 0.7, category: HOSTILE_CATEGORY, reasons: [`batch:similar-to:${productId}`] }],
});

/** Serving's two routes as HTTP answers in the contract's shape; the catalog and Postgres stay real. */
const servingStandIn: typeof fetch = async (input) => {
  const url = new URL(String(input));
  servingRequests.push(`${url.pathname}${url.search}`);
  if (!servingUp)
    throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  const user = /^\/recommendations\/([^/]+)$/.exec(url.pathname);
  if (user) {
    const { recommendationId: _id, experiment: _experiment, ...older } = recommendations(decodeURIComponent(user[1]!));
    return Response.json(servingNamesAnswers ? recommendations(decodeURIComponent(user[1]!)) : older);
  }
  const item = /^\/items\/([^/]+)\/similar$/.exec(url.pathname);
  if (item) return Response.json(similar(decodeURIComponent(item[1]!)));
  if (url.pathname === '/readyz') return Response.json({ status: 'ready' });
  return new Response('not found', { status: 404 });
};

beforeAll(async () => {
  db = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'storefront-test' });
  await createCatalogRepository({ pool }).upsert([
    buildProduct({ productId: 'tea', category: 'drinks', title: 'Assam tea', price: 4.5 }),
    buildProduct({ productId: 'coffee', category: 'drinks', title: 'Filter roast', price: 7 }),
    buildProduct({ productId: 'biscuits', category: HOSTILE_CATEGORY, title: HOSTILE_TITLE, price: 2.25 }),
    buildProduct({ productId: 'stapler', category: 'stationery', title: 'Stapler', price: 12, inStock: false }),
  ]);
  app = await createStorefront({ pool, config: SETTINGS, log, registry: createMetricsRegistry('storefront'), fetch: servingStandIn });
});

afterEach(() => {
  servingRequests = [];
  servingUp = true;
  servingNamesAnswers = true;
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
});

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

describe('the storefront pages', () => {
  it('shows every product by category, the categories, and the recommendations with their reasons in plain words', async () => {
    const res = await get('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    for (const id of ['tea', 'coffee', 'biscuits', 'stapler']) expect(res.body).toContain(`data-product-id="${id}"`);
    expect(res.body).toContain('href="/categories/drinks"');
    expect(res.body).toContain('Shoppers who liked Assam tea liked this too');
    expect(res.body).toContain('You are browsing snacks');
    // A product the catalog does not know is shown by its id, as serving named it.
    expect(res.body).toContain('<span class="title">ghost</span>');
    expect(servingRequests).toEqual(['/recommendations/alice?limit=8']);
  });

  it('escapes catalog text everywhere it appears', async () => {
    for (const url of ['/', '/products/tea', `/categories/${encodeURIComponent(HOSTILE_CATEGORY)}`, '/fragments/recommended']) {
      const { body } = await get(url);
      expect(body, url).not.toContain('<img src=x');
      expect(body, url).not.toContain('snacks<script>');
      expect(body, url).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Tea &amp; &quot;biscuits&quot;');
      expect(body, url).toContain('snacks&lt;script&gt;');
    }
  });

  it('offers the buttons only for products in stock', async () => {
    const { body } = await get('/categories/stationery');
    expect(body).toContain('Sold out');
    expect(body).not.toContain('data-action="purchase" data-product-id="stapler"');
    expect((await get('/categories/drinks')).body).toContain('data-action="purchase" data-product-id="tea"');
  });

  it('shows one category on its own, and answers 404 for a category without products', async () => {
    const drinks = await get('/categories/drinks');
    expect(drinks.statusCode).toBe(200);
    expect(drinks.body).toMatch(/<ul class="grid">.*data-product-id="tea".*<\/ul>/s);
    expect(drinks.body.match(/<ul class="grid">.*?<\/ul>/s)![0]).not.toContain('data-product-id="stapler"');
    expect((await get('/categories/garden')).statusCode).toBe(404);
  });

  it('shows a product with its similar items, tells the page script which product it is, and leaves it out of the recommendations', async () => {
    const res = await get('/products/tea');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<h1>Assam tea</h1>');
    expect(res.body).toMatch(/<section id="similar".*data-product-id="biscuits".*<\/section>/s);
    const settings = JSON.parse(/<script id="storefront-settings" type="application\/json">(.*?)<\/script>/s.exec(res.body)![1]!);
    expect(settings).toEqual({
      ingestUrl: 'http://ingest.test',
      shopper: 'alice',
      product: { productId: 'tea', category: 'drinks', price: 4.5 },
    });
    expect(servingRequests.sort()).toEqual(['/items/tea/similar?limit=6', '/recommendations/alice?limit=8&exclude=tea']);
  });

  it('answers an unknown product with a 404 page, and a malformed id with 400', async () => {
    const missing = await get('/products/no-such-thing');
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('Product no-such-thing is not in this shop');
    expect((await get('/products/bad%20id')).statusCode).toBe(400);
  });

  it('recommends for the shopper a link names, else the one in the cookie, else the first one', async () => {
    await get('/fragments/recommended?shopper=bob');
    await get('/fragments/recommended', { cookie: 'lrec_shopper=carol' });
    await get('/fragments/recommended', { cookie: 'lrec_shopper=not%20valid' });
    expect(servingRequests).toEqual(['/recommendations/bob?limit=8', '/recommendations/carol?limit=8', '/recommendations/alice?limit=8']);
    // A shopper outside the configured list (a link) is added to the switch, selected.
    expect((await get('/?shopper=dave')).body).toContain('<option value="dave" selected>dave</option>');
  });

  it('serves the recommendations panel alone, never cached, for the page to refresh after each action', async () => {
    const res = await get('/fragments/recommended?shopper=bob&exclude=tea');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toContain('<ol class="items"');
    expect(res.body).not.toContain('<html');
    expect(servingRequests).toEqual(['/recommendations/bob?limit=8&exclude=tea']);
  });

  it('names the answer on the recommended list, for the page script’s impression and clicks', async () => {
    const { body } = await get('/fragments/recommended?shopper=bob');
    expect(body).toContain(`<ol class="items" data-recommendation-id="${RECOMMENDATION_ID}" data-user-id="bob">`);
    // Similar items are not an answer of GET /recommendations: no impression is logged for them.
    expect((await get('/products/tea')).body.match(/<section id="similar".*?<\/section>/s)![0]).toContain('<ol class="items">');
  });

  it('shows the list of a serving that does not name its answers yet, without an id (so no impression)', async () => {
    servingNamesAnswers = false;
    const { body } = await get('/fragments/recommended?shopper=bob');
    expect(body).toContain('<ol class="items">');
    expect(body).toContain('data-product-id="biscuits"');
    expect(body).not.toContain('data-recommendation-id');
  });

  it('still shows the shop when serving is down, saying that recommendations are unavailable', async () => {
    servingUp = false;
    const res = await get('/products/tea');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<h1>Assam tea</h1>');
    expect(res.body).toContain('data-degraded="serving"');
    const ready = await get('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'degraded', degraded: ['serving'] });
  });

  it('serves its script and stylesheet, and health, readiness and metrics like every service', async () => {
    expect((await get('/assets/storefront.js')).headers['content-type']).toMatch(/^text\/javascript/);
    expect((await get('/assets/storefront.css')).headers['content-type']).toMatch(/^text\/css/);
    // @lambdarec/client as one ES module, which storefront.js imports.
    const client = await get('/assets/lambdarec-client.js');
    expect(client.headers['content-type']).toMatch(/^text\/javascript/);
    expect(client.body).toMatch(/export\s*\{[^}]*createLambdarecClient/);
    expect((await get('/assets/storefront.js')).body).toContain("from './lambdarec-client.js'");
    expect((await get('/healthz')).statusCode).toBe(200);
    expect((await get('/readyz')).json()).toMatchObject({
      status: 'ready',
      dependencies: { postgres: { status: 'up' }, serving: { status: 'up' } },
    });
    expect((await get('/metrics')).body).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/products\/:productId"/);
  });
});
