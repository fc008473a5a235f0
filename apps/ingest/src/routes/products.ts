import { ERROR_CODES, LrecError, MAX_PRODUCTS_PER_REQUEST, parseProductsBody, productSchema } from '@lambdarec/contracts';
import { bearerToken, secretsEqual, type HttpServer } from '@lambdarec/http';
import type { CatalogRepository } from '@lambdarec/stores';
import type { CatalogGate } from '../catalog-gate.js';
import type { RateLimiter } from '../rate-limiter.js';
import { z } from 'zod';

// Documents the accepted shapes only; validation is parseProductsBody, which names the bad field of
// the bad product (a union of the two forms can only say that the body as a whole is invalid).
const productList = z.array(productSchema).min(1).max(MAX_PRODUCTS_PER_REQUEST);
const productsRequestDoc = z.union([productList, z.strictObject({ products: productList })]);

export interface ProductsRoutesOptions {
  catalog: CatalogRepository;
  /** The bearer token PUT /products requires (CATALOG_API_KEY): the catalog decides what is in stock. */
  apiKey: string;
  /** Whether the catalog's store is there. @defaultValue always ready */
  gate?: CatalogGate;
  /** Products count against the client's budget like events. */
  limit: RateLimiter;
}

export async function productsRoutes(app: HttpServer, { catalog, apiKey, gate, limit }: ProductsRoutesOptions) {
  app.put(
    '/products',
    {
      // Checked before the body is read: an unauthenticated client cannot make the server parse 1 MiB.
      onRequest: async (request) => {
        const token = bearerToken(request.headers.authorization);
        if (token === undefined || !secretsEqual(token, apiKey)) {
          throw new LrecError(ERROR_CODES.UNAUTHORIZED, 'PUT /products needs Authorization: Bearer <CATALOG_API_KEY>', { statusCode: 401 });
        }
      },
      // The body schema is for the OpenAPI document; it is never run.
      validatorCompiler: () => (data) => ({ value: data }),
      schema: {
        summary: 'Upsert catalog products',
        description:
          'An array of products or {"products": [...]}, up to 1,000 per request. Fields a product sends are set, fields it leaves out are kept; a new product is in stock unless inStock says otherwise.',
        tags: ['catalog'],
        security: [{ catalogApiKey: [] }],
        body: productsRequestDoc,
        response: { 200: z.object({ upserted: z.number().int() }) },
      },
    },
    async (request) => {
      const parsed = parseProductsBody(request.body);
      if (!parsed.ok) {
        throw new LrecError(
          parsed.tooMany ? ERROR_CODES.PAYLOAD_TOO_LARGE : ERROR_CODES.INVALID_PRODUCT,
          parsed.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '),
          { statusCode: parsed.tooMany ? 413 : 400, details: parsed.issues },
        );
      }
      await limit.consume(request.ip, parsed.products.length);
      await gate?.ready();
      return { upserted: await catalog.upsert(parsed.products) };
    },
  );
}
