import { productIdParamsSchema } from '@lambdarec/contracts';
import type { HttpServer } from '@lambdarec/http';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CatalogListing } from '@lambdarec/stores';
import { notFoundMain, productMain, recommendedFragment, renderPage, shopMain, type Frame, type PageSettings } from '../pages.js';
import type { Shop } from '../shop.js';
import { shopperOf } from '../shopper.js';

export interface PagesRouteOptions {
  catalog: CatalogListing;
  shop: Shop;
  /** Ingest's public base URL (INGEST_URL). */
  ingestUrl: string;
  writeKey?: string | undefined;
  /** The shopper switch's choices; the first is the default shopper. */
  shoppers: readonly [string, ...string[]];
  /** Products on one grid page. @defaultValue 100 */
  gridSize?: number;
}

// Unknown or malformed shoppers fall back to the default (shopperOf), so the query only bounds length.
const shopperQuery = z.object({ shopper: z.string().max(256).optional() });
const categoryParams = z.strictObject({ category: z.string().min(1).max(128) });

/** The shop's HTML: the product grid (all or one category), a product page, and the recommendations panel on its own. */
export async function pagesRoutes(app: HttpServer, { catalog, shop, ingestUrl, writeKey, shoppers, gridSize = 100 }: PagesRouteOptions) {
  const shopperFor = (request: FastifyRequest<{ Querystring: { shopper?: string | undefined } }>) =>
    shopperOf({ query: request.query.shopper, cookieHeader: request.headers.cookie, fallback: shoppers[0] });

  /** Everything around the main part; the recommendations leave out the product the page shows. */
  async function page(
    shopper: string,
    frame: Pick<Frame, 'title' | 'main' | 'activeCategory'> & { product?: PageSettings['product'] },
  ): Promise<string> {
    const [categories, recommended] = await Promise.all([
      catalog.categories(),
      shop.recommendedFor(shopper, frame.product === undefined ? {} : { exclude: [frame.product.productId] }),
    ]);
    return renderPage({ ...frame, categories, recommended, shoppers, settings: { ingestUrl, writeKey, shopper, product: frame.product } });
  }

  app.get('/', { schema: { querystring: shopperQuery } }, async (request, reply) => {
    const products = await catalog.products({ limit: gridSize });
    return reply
      .type('text/html; charset=utf-8')
      .send(await page(shopperFor(request), { title: 'All products', main: shopMain('All products', products) }));
  });

  app.get('/categories/:category', { schema: { params: categoryParams, querystring: shopperQuery } }, async (request, reply) => {
    const { category } = request.params;
    const products = await catalog.products({ category, limit: gridSize });
    return reply
      .status(products.length === 0 ? 404 : 200)
      .type('text/html; charset=utf-8')
      .send(await page(shopperFor(request), { title: category, activeCategory: category, main: shopMain(category, products) }));
  });

  app.get('/products/:productId', { schema: { params: productIdParamsSchema, querystring: shopperQuery } }, async (request, reply) => {
    const { productId } = request.params;
    const shopper = shopperFor(request);
    const product = (await catalog.byIds([productId])).get(productId);
    if (product === undefined) {
      return reply
        .status(404)
        .type('text/html; charset=utf-8')
        .send(await page(shopper, { title: 'Not found', main: notFoundMain(`Product ${productId}`) }));
    }
    const similar = await shop.similarTo(productId);
    const html = await page(shopper, {
      title: product.title ?? productId,
      activeCategory: product.category ?? undefined,
      main: productMain(product, similar),
      product: { productId, category: product.category, price: product.price },
    });
    return reply.type('text/html; charset=utf-8').send(html);
  });

  app.get(
    '/fragments/recommended',
    { schema: { querystring: shopperQuery.extend({ exclude: productIdParamsSchema.shape.productId.optional() }) } },
    async (request, reply) => {
      const { exclude } = request.query;
      const list = await shop.recommendedFor(shopperFor(request), exclude === undefined ? {} : { exclude: [exclude] });
      // Always fresh: the panel is asked for again right after each action.
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(recommendedFragment(list).markup);
    },
  );
}
