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
  /**
   * Proxies whose X-Forwarded-For is believed (client address for rate limits and logs): a hop
   * count, or addresses/CIDRs. Off by default, since otherwise any client can pick its address.
   * @defaultValue false
   */
  trustProxy?: boolean | number | string[];
  /** A request (headers and body) must arrive within this time, else 408. @defaultValue 30000 */
  requestTimeoutMs?: number;
  /** An idle socket is closed after this time. @defaultValue 60000 */
  connectionTimeoutMs?: number;
}

/**
 * A Fastify instance with zod schemas for validation, serialisation and OpenAPI. It never
 * listens: main.ts does, tests use inject().
 */
export function createHttpServer({
  log,
  bodyLimit = 1024 * 1024,
  trustProxy = false,
  requestTimeoutMs = 30_000,
  connectionTimeoutMs = 60_000,
}: HttpServerOptions): HttpServer {
  const app = Fastify({
    loggerInstance: log,
    bodyLimit,
    // Off by default in Node and Fastify: a client that trickles a body, or opens sockets and sends
    // nothing, would otherwise hold a connection for ever (slowloris).
    requestTimeout: requestTimeoutMs,
    connectionTimeout: connectionTimeoutMs,
    // Per-request access logs would dominate the log at storefront rates; metrics cover requests.
    logController: new LogController({ disableRequestLogging: true }),
    // A hop count trusts that many proxies in front of this server.
    trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy,
    // ids are up to 128 characters (DESIGN.md): longer params must reach zod for a 400, not 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Graceful close: Fastify closes the sockets that are idle when close() starts, but a keep-alive
  // socket busy at that moment stays open for the keep-alive timeout (72 s) and close() waits for
  // it. Closing idle sockets again until the server is closed ends each one after its answer,
  // without a hook on every response.
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
    sweeper.unref();
  });
  app.addHook('onClose', async () => clearInterval(sweeper));
  return app;
}
