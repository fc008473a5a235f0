import { ERROR_CODES, isLrecError } from '@lambdarec/contracts';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
  issues?: Array<{ path: Array<string | number>; message: string }>;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
// PostgreSQL: admin shutdown, crash shutdown, cannot connect now, too many connections.
const PG_UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * A store or broker that is down or unreachable: the client should retry later (503), the service
 * is not broken (500). Recognised by the drivers' error codes and names, not by message text.
 */
function isDependencyUnavailable(err: unknown): boolean {
  for (let current = err as { code?: unknown; name?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 5; depth++) {
    const { code, name } = current;
    if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || PG_UNAVAILABLE_CODES.has(code))) return true;
    if (name === 'MaxRetriesPerRequestError' || name === 'KafkaJSConnectionError' || name === 'KafkaJSNumberOfRetriesExceeded') return true;
    // pg: "timeout exceeded when trying to connect", "Connection terminated"; ioredis: "Connection is closed", command timeouts.
    if (
      current instanceof Error &&
      /^(timeout exceeded when trying to connect|Connection terminated|Connection is closed|Command timed out)/.test(current.message)
    ) {
      return true;
    }
    current = current.cause as typeof current;
  }
  return false;
}

/** Splits "/userId" or "querystring/limit" style instance paths into a path array. */
const pathOf = (instancePath: string): string[] => instancePath.split('/').filter((part) => part.length > 0);

/**
 * One error handler for every service: 4xx answers say what was wrong (with per-field issues for
 * validation), 5xx answers say nothing internal and the error is logged.
 */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      let body: ErrorBody;
      if (hasZodFastifySchemaValidationErrors(err)) {
        const where = err.validationContext ?? 'request';
        body = {
          statusCode: 400,
          code: ERROR_CODES.INVALID_REQUEST,
          error: STATUS_TEXT[400]!,
          message: err.validation.map((v) => `${[where, ...pathOf(v.instancePath)].join('.')}: ${v.message}`).join('; '),
          issues: err.validation.map((v) => ({ path: [where, ...pathOf(v.instancePath)], message: v.message ?? 'invalid' })),
        };
      } else if (isLrecError(err)) {
        body = {
          statusCode: err.statusCode,
          code: err.code,
          error: STATUS_TEXT[err.statusCode] ?? 'Error',
          message: err.statusCode < 500 || err.statusCode === 503 ? err.message : 'internal error',
          ...(err.statusCode < 500 && Array.isArray(err.details) ? { issues: err.details as ErrorBody['issues'] } : {}),
        };
        if (err.retryAfterSeconds !== undefined) void reply.header('retry-after', String(err.retryAfterSeconds));
      } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        // Fastify's own client errors: malformed JSON, body too large, wrong content type.
        body = {
          statusCode: err.statusCode,
          code: err.code ?? ERROR_CODES.INVALID_REQUEST,
          error: STATUS_TEXT[err.statusCode] ?? 'Client Error',
          message: err.message,
        };
      } else if (isDependencyUnavailable(err)) {
        body = {
          statusCode: 503,
          code: ERROR_CODES.STORE_UNAVAILABLE,
          error: STATUS_TEXT[503]!,
          message: 'a backing service is unavailable; retry later',
        };
        void reply.header('retry-after', '5');
      } else {
        body = { statusCode: 500, code: 'LREC_INTERNAL', error: STATUS_TEXT[500]!, message: 'internal error' };
      }
      if (body.statusCode >= 500) request.log.error({ err, url: request.url }, 'request failed');
      else request.log.debug({ code: body.code, url: request.url }, 'client error');
      return reply.status(body.statusCode).send(body);
    });

    app.setNotFoundHandler((request, reply) =>
      reply.status(404).send({
        statusCode: 404,
        code: ERROR_CODES.NOT_FOUND,
        error: STATUS_TEXT[404],
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
      }),
    );
  },
  { name: 'lrec-error-handler' },
);
