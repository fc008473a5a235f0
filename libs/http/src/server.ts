import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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
  /** A close still waiting for answers after this long logs their connections, then again every twice as long. @defaultValue 2000 */
  drainReportAfterMs?: number;
  /**
   * How long a close waits for answers in progress before it closes their connections. Shorter
   * than a service's shutdown grace (15 s), longer than ingest's broker wait (10 s). @defaultValue 11000
   */
  drainTimeoutMs?: number;
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
  drainReportAfterMs = 2_000,
  drainTimeoutMs = 11_000,
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
    // ids are up to 128 characters (docs/design.md): longer params must reach zod for a 400, not 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Graceful close. Fastify closes the sockets that are idle when close() starts; two kinds of
  // socket would still hold close() (and so a shutdown) for a long time:
  // - a keep-alive socket busy at that moment: it stays open for the keep-alive timeout (72 s);
  // - a socket that has not sent a whole request yet, e.g. one a browser or a pooled client opened
  //   ahead of need: Node counts it as waiting for headers, not idle, and server.close() stops the
  //   timer that would end it, so it holds close() until the client goes.
  // Every 100 ms while closing, each socket with no answer in progress is closed: no request has
  // been taken from it, so nothing is cut. An answer still running after drainTimeoutMs (a
  // stalled upload, a handler that does not return) is cut then, so the shutdown ends in its grace.
  const sockets = trackSockets(app.server);
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    const closingAt = Date.now();
    let reportAfterMs = drainReportAfterMs;
    sweeper = setInterval(() => {
      const waitedMs = Date.now() - closingAt;
      if (waitedMs >= drainTimeoutMs) {
        if (sockets.size > 0)
          log.warn(
            { waitedMs, connections: [...sockets].map(describeConnection) },
            'http server did not drain in time; closing the connections left',
          );
        for (const socket of sockets) socket.destroy();
        return;
      }
      for (const socket of sockets) if (answerInProgress(socket) === undefined) socket.destroy();
      // A close that waits says for what: which client, which request, how much it sent. Without
      // this, a shutdown that runs out of time names only its step ("http server").
      if (sockets.size > 0 && waitedMs >= reportAfterMs) {
        log.warn({ waitedMs, connections: [...sockets].map(describeConnection) }, 'http server is still waiting for connections to close');
        reportAfterMs += drainReportAfterMs * 2;
      }
    }, 100);
    sweeper.unref();
  });
  app.addHook('onClose', async () => clearInterval(sweeper));
  return app;
}

/** Open sockets of a server: one Set entry per connection, nothing per request. */
function trackSockets(server: Server): ReadonlySet<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

export interface OpenConnection {
  client: string;
  bytesRead: number;
  bytesWritten: number;
  /** The request being answered on it, if any. */
  request?: string;
}

/**
 * The answer being written on a socket, if any. Node keeps it as `_httpMessage`, from the moment a
 * request's headers are in until the answer is flushed. It is not public API: a Node without it
 * would make every socket look unused when closing, and cut answers in progress. The close tests
 * ("ends a keep-alive connection that was answering…") fail then, so an upgrade cannot hide it.
 */
function answerInProgress(socket: Socket): ServerResponse | undefined {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

function describeConnection(socket: Socket): OpenConnection {
  const request = answerInProgress(socket)?.req;
  return {
    client: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
    bytesRead: socket.bytesRead,
    bytesWritten: socket.bytesWritten,
    request: request === undefined ? undefined : `${request.method ?? '?'} ${request.url ?? '?'}`,
  };
}
