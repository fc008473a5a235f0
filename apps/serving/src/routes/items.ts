import { productIdParamsSchema, similarItemsAnswerSchema, similarQuerySchema } from '@lambdarec/contracts';
import type { HttpServer } from '@lambdarec/http';
import type { Recommender } from '../recommender.js';
import { stringifyAnswer } from './serialize.js';

export async function itemsRoutes(app: HttpServer, { recommender }: { recommender: Recommender }) {
  app.get(
    '/items/:productId/similar',
    {
      schema: {
        summary: 'Items similar to a product',
        description: "From the published run's item similarities; out-of-stock products removed.",
        tags: ['recommendations'],
        params: productIdParamsSchema,
        querystring: similarQuerySchema,
        response: { 200: similarItemsAnswerSchema },
      },
      serializerCompiler: stringifyAnswer,
    },
    async (request) => recommender.similar(request.params.productId, request.query.limit),
  );
}
