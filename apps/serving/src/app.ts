import type { Logger } from '@lambdarec/clients';
import { createServiceApp, type HttpServer, type ReadinessCheck, type Registry } from '@lambdarec/http';
import type { Recommender } from './recommender.js';
import { itemsRoutes } from './routes/items.js';
import { recommendationsRoutes } from './routes/recommendations.js';

/** The serving HTTP app, built but not listening. */
export async function buildServingApp({
  log,
  registry,
  checks,
  recommender,
  trustProxy = false,
}: {
  log: Logger;
  registry: Registry;
  checks: Record<string, ReadinessCheck>;
  recommender: Recommender;
  trustProxy?: boolean | number | string[];
}): Promise<HttpServer> {
  const app = await createServiceApp({
    log,
    registry,
    checks,
    trustProxy,
    openApi: { title: 'lambdarec serving', description: 'Recommendations per user (batch view + live session) and similar items.' },
  });
  await app.register(recommendationsRoutes, { recommender });
  await app.register(itemsRoutes, { recommender });
  return app;
}
