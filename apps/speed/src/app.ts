import type { Logger } from '@lambdarec/clients';
import {
  createHttpServer,
  errorHandlerPlugin,
  healthPlugin,
  metricsPlugin,
  type HttpServer,
  type ReadinessCheck,
  type Registry,
} from '@lambdarec/http';

/** The speed layer's HTTP surface: health, readiness and metrics only. */
export async function buildSpeedApp({ log, registry, checks }: { log: Logger; registry: Registry; checks: Record<string, ReadinessCheck> }): Promise<HttpServer> {
  const app = createHttpServer({ log });
  await app.register(errorHandlerPlugin);
  await app.register(metricsPlugin, { registry });
  await app.register(healthPlugin, { checks });
  return app;
}
