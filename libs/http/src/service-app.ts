import type { FastifyBaseLogger } from 'fastify';
import { errorHandlerPlugin } from './error-handler.js';
import { healthPlugin, type ReadinessCheck } from './health.js';
import { metricsPlugin } from './metrics.js';
import { openApiPlugin, type OpenApiOptions } from './openapi.js';
import { createHttpServer, type HttpServer } from './server.js';
import type { Registry } from '@lambdarec/metrics';

export interface ServiceAppOptions {
  log: FastifyBaseLogger;
  registry: Registry;
  /** Dependencies /readyz checks, by name. */
  checks: Record<string, ReadinessCheck>;
  /** Dependencies /readyz reports without becoming unready when they are down. */
  optionalChecks?: Record<string, ReadinessCheck>;
  /** Generated API documentation at /docs; services without a public API leave it out. */
  openApi?: OpenApiOptions;
  bodyLimit?: number;
  trustProxy?: boolean | number | string[];
}

/**
 * What every service's HTTP app starts with: zod validation, the shared error handler,
 * /healthz, /readyz, /metrics and (optionally) OpenAPI. Routes are registered on the result.
 */
export async function createServiceApp({
  log,
  registry,
  checks,
  optionalChecks,
  openApi,
  bodyLimit,
  trustProxy,
}: ServiceAppOptions): Promise<HttpServer> {
  const app = createHttpServer({ log, bodyLimit, trustProxy });
  await app.register(errorHandlerPlugin);
  if (openApi !== undefined) await app.register(openApiPlugin, openApi);
  await app.register(metricsPlugin, { registry });
  await app.register(healthPlugin, { checks, optionalChecks });
  return app;
}
