import { recommendationsAnswerSchema, recommendationsQuerySchema, userIdParamsSchema } from '@lambdarec/contracts';
import type { HttpServer } from '@lambdarec/http';
import type { Recommender } from '../recommender.js';
import { stringifyAnswer } from './serialize.js';

export async function recommendationsRoutes(app: HttpServer, { recommender }: { recommender: Recommender }) {
  app.get(
    '/recommendations/:userId',
    {
      schema: {
        summary: "A user's recommendations",
        description:
          "The published batch view (the user's re-buys and the neighbours of their history) merged with the live session: " +
          'items that go with the products viewed, carted or bought in the session join; a just-bought product stays when at least ' +
          "REBUY_THRESHOLD of its buyers (else its category's) bought it again, and is hidden for PURCHASE_SUPPRESSION_HOURS when " +
          'customers rarely re-buy it or nothing is known; products in the cart are left out; recently viewed categories are boosted; ' +
          'unknown users get popular items. Every item says why in `reasons` (batch:bought-before, batch:similar-to:P, ' +
          'session:similar-to:P, session:bought-again-often:product|category, session:category-boost:C, popular). ' +
          'Degrades (never fails) when Redis or Postgres is down.',
        tags: ['recommendations'],
        params: userIdParamsSchema,
        querystring: recommendationsQuerySchema,
        response: { 200: recommendationsAnswerSchema },
      },
      serializerCompiler: stringifyAnswer,
    },
    async (request) => recommender.recommend(request.params.userId, request.query),
  );
}
