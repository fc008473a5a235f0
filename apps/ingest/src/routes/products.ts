import { productsBodySchema, productsOf } from '@lambdarec/contracts';
import type { HttpServer } from '@lambdarec/http';
import type { CatalogRepository } from '@lambdarec/stores';
import { z } from 'zod';

export async function productsRoutes(app: HttpServer, { catalog }: { catalog: CatalogRepository }) {
  app.put(
    '/products',
    {
      schema: {
        summary: 'Upsert catalog products',
        description: 'An array of products or {"products": [...]}, up to 1,000 per request.',
        tags: ['catalog'],
        body: productsBodySchema,
        response: { 200: z.object({ upserted: z.number().int() }) },
      },
    },
    async (request) => ({ upserted: await catalog.upsert(productsOf(request.body)) }),
  );
}
