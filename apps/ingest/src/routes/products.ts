import { ERROR_CODES, LrecError, MAX_PRODUCTS_PER_REQUEST, parseProductsBody, productSchema } from '@lambdarec/contracts';
import type { HttpServer } from '@lambdarec/http';
import type { CatalogRepository } from '@lambdarec/stores';
import { z } from 'zod';

// Documents the accepted shapes only; validation is parseProductsBody, which names the bad field of
// the bad product (a union of the two forms can only say that the body as a whole is invalid).
const productList = z.array(productSchema).min(1).max(MAX_PRODUCTS_PER_REQUEST);
const productsRequestDoc = z.union([productList, z.strictObject({ products: productList })]);

export async function productsRoutes(app: HttpServer, { catalog }: { catalog: CatalogRepository }) {
  app.put(
    '/products',
    {
      // The body schema is for the OpenAPI document; it is never run.
      validatorCompiler: () => (data) => ({ value: data }),
      schema: {
        summary: 'Upsert catalog products',
        description:
          'An array of products or {"products": [...]}, up to 1,000 per request. Fields a product sends are set, fields it leaves out are kept; a new product is in stock unless inStock says otherwise.',
        tags: ['catalog'],
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
      return { upserted: await catalog.upsert(parsed.products) };
    },
  );
}
