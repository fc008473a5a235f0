import { randomUUID } from 'node:crypto';
import {
  clickEventInputSchema,
  ERROR_CODES,
  impressionEventInputSchema,
  LrecError,
  parseEventsBody,
  type TrackedEvent,
} from '@lambdarec/contracts';
import { bearerToken, secretsEqual, type HttpServer } from '@lambdarec/http';
import type { Counter } from '@lambdarec/metrics';
import { z } from 'zod';
import type { EventPublisher } from '../event-publisher.js';
import type { RateLimiter } from '../rate-limiter.js';

export interface EventsRouteOptions {
  publisher: EventPublisher;
  clock: () => Date;
  accepted: Counter<'type'>;
  limit: RateLimiter;
  /** When set, requests need `X-Write-Key` with it: keeps scripts that never saw the storefront out. */
  writeKey?: string | undefined;
  /** The operator's key (CATALOG_API_KEY): a request with `Authorization: Bearer <it>` is a history import. */
  operatorKey: string;
  /** How far back a live event may be dated (EVENT_MAX_AGE_HOURS); history imports go back to 2000. */
  maxEventAgeHours: number;
}

// Set in onRequest, read by the handler: which requests authenticated as the operator's history import.
const historyImports = new WeakSet<object>();
// Set by the handler for a body it refused: how many events reading it cost (a malformed body costs 1).
const refusedEventCounts = new WeakMap<object, number>();

// For the OpenAPI document only: the handler validates with parseEventsBody, which names every bad field.
const trackedEventDoc = z.union([clickEventInputSchema, impressionEventInputSchema]);
const eventsRequestDoc = z.union([trackedEventDoc, z.array(trackedEventDoc), z.object({ events: z.array(trackedEventDoc) })]);

export async function eventsRoutes(
  app: HttpServer,
  { publisher, clock, accepted, limit, writeKey, operatorKey, maxEventAgeHours }: EventsRouteOptions,
) {
  app.post(
    '/events',
    {
      onRequest: async (request) => {
        // Any Authorization header claims the operator's import: a wrong one is refused, never
        // taken as an anonymous live request (whose events would then be judged as live).
        const authorization = request.headers.authorization;
        if (authorization !== undefined) {
          const token = bearerToken(authorization);
          if (token === undefined || !secretsEqual(token, operatorKey)) {
            throw new LrecError(
              ERROR_CODES.UNAUTHORIZED,
              'a history import needs Authorization: Bearer <CATALOG_API_KEY>; live events send no Authorization',
              {
                statusCode: 401,
              },
            );
          }
          historyImports.add(request);
        } else if (writeKey !== undefined) {
          const given = request.headers['x-write-key'];
          if (typeof given !== 'string' || !secretsEqual(given, writeKey)) {
            throw new LrecError(ERROR_CODES.UNAUTHORIZED, 'POST /events needs the header X-Write-Key (EVENTS_WRITE_KEY)', {
              statusCode: 401,
            });
          }
        }
        // Before the body is read: a client that spent its budget costs no parsing.
        limit.refuseIfSpent(request.ip);
      },
      // A body refused as invalid (400) or too large (413) spends budget too: its events, or 1 when
      // it held no list. Awaited before the answer, so the client's next request sees it.
      onError: async (request, _reply, error) => {
        const status = (error as { statusCode?: number }).statusCode;
        if (status === 400 || status === 413) await limit.charge(request.ip, Math.max(1, refusedEventCounts.get(request) ?? 1));
      },
      // The body schema documents the API; validation is parseEventsBody (per-event paths, one pass).
      validatorCompiler: () => (value: unknown) => ({ value }),
      schema: {
        summary: 'Post click events',
        description:
          'One event, an array of them or {"events": [...]}: up to 500 events and 1 MiB. 202 only after Kafka acknowledged every event. ' +
          '429 with Retry-After when the client has sent RATE_LIMIT_PER_MINUTE events this minute; events of a refused body (400, 413) count too. ' +
          'A timestamp may be at most EVENT_MAX_AGE_HOURS (default 168) old, unless the request is a history import: ' +
          "with Authorization: Bearer <CATALOG_API_KEY> (the operator's key; a wrong one is a 401) events may be dated back to 2000-01-01, and the bot guard does not judge them.",
        tags: ['events'],
        security: [{}, { catalogApiKey: [] }],
        body: eventsRequestDoc,
        response: {
          202: z.object({ accepted: z.number().int(), eventIds: z.array(z.uuid()) }),
        },
      },
    },
    async (request, reply) => {
      const now = clock();
      const historyImport = historyImports.has(request);
      const parsed = parseEventsBody(request.body, now, historyImport ? {} : { maxAgeHours: maxEventAgeHours });
      if (!parsed.ok) {
        refusedEventCounts.set(request, parsed.eventCount);
        throw new LrecError(
          parsed.tooMany ? ERROR_CODES.PAYLOAD_TOO_LARGE : ERROR_CODES.INVALID_EVENT,
          parsed.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '),
          { statusCode: parsed.tooMany ? 413 : 400, details: parsed.issues },
        );
      }
      await limit.consume(request.ip, parsed.events.length);
      const receivedAt = now.toISOString();
      const events: TrackedEvent[] = parsed.events.map((event) => ({
        ...event,
        eventId: event.eventId ?? randomUUID(),
        timestamp: event.timestamp ?? receivedAt,
      }));
      await publisher.publish(events, { historyImport });
      for (const event of events) accepted.inc({ type: event.type });
      return reply.status(202).send({ accepted: events.length, eventIds: events.map((event) => event.eventId) });
    },
  );
}
