import { recommendationsAnswerSchema, recommendationsQuerySchema, userIdParamsSchema } from '@lambdarec/contracts';
import type { HttpServer } from '@lambdarec/http';
import type { Recommender } from '../recommender.js';

export async function recommendationsRoutes(app: HttpServer, { recommender }: { recommender: Recommender }) {
  app.get(
    '/recommendations/:userId',
    {
      schema: {
        summary: "A user's recommendations",
        description:
          'The published batch view merged with the live session: purchased products hidden, recently viewed categories boosted, ' +
          'popular items for unknown users. Degrades (never fails) when Redis or Postgres is down.',
        tags: ['recommendations'],
        params: userIdParamsSchema,
        querystring: recommendationsQuerySchema,
        response: { 200: recommendationsAnswerSchema },
      },
    },
    async (request) => recommender.recommend(request.params.userId, request.query),
  );
}
