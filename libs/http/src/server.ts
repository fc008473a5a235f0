import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';

export type HttpServer = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

export interface HttpServerOptions {
  log: FastifyBaseLogger;
  /** Largest accepted request body in bytes. @defaultValue 1 MiB */
  bodyLimit?: number;
}

/**
 * A Fastify instance with zod schemas for validation, serialisation and OpenAPI. It never
 * listens: main.ts does, tests use inject().
 */
export function createHttpServer({ log, bodyLimit = 1024 * 1024 }: HttpServerOptions): HttpServer {
  const app = Fastify({
    loggerInstance: log,
    bodyLimit,
    // Per-request access logs would dominate the log at storefront rates; metrics cover requests.
    logController: new LogController({ disableRequestLogging: true }),
    // Behind a load balancer the client's address matters for rate limits and logs.
    trustProxy: true,
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  return app;
}
