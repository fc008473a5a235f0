import cors from '@fastify/cors';
import { DEFAULT_EVENT_MAX_AGE_HOURS, MAX_EVENTS_BODY_BYTES } from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';
import { createServiceApp, type HttpServer, type ReadinessCheck } from '@lambdarec/http';
import { Counter, type Registry } from '@lambdarec/metrics';
import type { CatalogRepository } from '@lambdarec/stores';
import type { CatalogGate } from './catalog-gate.js';
import type { EventPublisher } from './event-publisher.js';
import { NO_RATE_LIMIT, type RateLimiter } from './rate-limiter.js';
import { eventsRoutes } from './routes/events.js';
import { productsRoutes } from './routes/products.js';

export interface IngestAppOptions {
  log: Logger;
  publisher: EventPublisher;
  catalog: CatalogRepository;
  /** The operator's bearer token: PUT /products requires it, and POST /events with it is a history import. */
  catalogApiKey: string;
  /** How far back a live event may be dated (EVENT_MAX_AGE_HOURS). @defaultValue 168 */
  maxEventAgeHours?: number;
  /** Whether the catalog store is ready (migrated); without it, always. */
  catalogGate?: CatalogGate;
  registry: Registry;
  /** Dependencies without which the service is not ready (Kafka). */
  checks: Record<string, ReadinessCheck>;
  /** Dependencies reported on /readyz that do not make it unready (Postgres: only the catalog needs it). */
  optionalChecks?: Record<string, ReadinessCheck>;
  /** Proxies whose X-Forwarded-For gives the client address (for the rate limit). @defaultValue false */
  trustProxy?: boolean | number | string[];
  /** Events (and products) a minute per client address, across instances. @defaultValue no limit */
  rateLimiter?: RateLimiter;
  /** Browser origins allowed to POST /events (STOREFRONT_ORIGINS). @defaultValue none */
  storefrontOrigins?: readonly string[];
  /** When set, POST /events needs `X-Write-Key` with this value. */
  writeKey?: string | undefined;
  /** @defaultValue () => new Date() */
  clock?: () => Date;
}

/** The ingest HTTP app, built but not listening. */
export async function buildIngestApp({
  log,
  publisher,
  catalog,
  catalogApiKey,
  maxEventAgeHours = DEFAULT_EVENT_MAX_AGE_HOURS,
  catalogGate,
  registry,
  checks,
  optionalChecks,
  rateLimiter,
  storefrontOrigins = [],
  writeKey,
  trustProxy = false,
  clock = () => new Date(),
}: IngestAppOptions): Promise<HttpServer> {
  const app = await createServiceApp({
    log,
    registry,
    checks,
    optionalChecks,
    bodyLimit: MAX_EVENTS_BODY_BYTES,
    trustProxy,
    openApi: {
      title: 'lambdarec ingest',
      description:
        'Click events from the storefront, and the product catalog (PUT /products needs Authorization: Bearer <CATALOG_API_KEY>; ' +
        'POST /events with it is a history import).',
      bearerAuth: ['catalogApiKey'],
    },
  });
  const accepted = new Counter({
    name: 'lrec_events_accepted_total',
    help: 'Events acknowledged by Kafka, by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  // A runaway client (a storefront bug, a bot) gets 429 before it can flood the topic; operations
  // endpoints stay reachable. The budget counts events, per client, across ingest instances.
  const limit = rateLimiter ?? NO_RATE_LIMIT;
  // CORS only where browsers post: the events route, for the storefront's origins.
  await app.register(async (browserFacing) => {
    // The plugin's preflight route is a router-wide OPTIONS *: the delegate answers for /events only.
    await browserFacing.register(cors, {
      delegator: (request, callback) => {
        const forEvents = request.url.split('?')[0] === '/events';
        callback(null, {
          origin: forEvents ? [...storefrontOrigins] : false,
          methods: ['POST'],
          allowedHeaders: ['content-type', 'x-write-key'],
          maxAge: 600,
        });
      },
    });
    await browserFacing.register(eventsRoutes, {
      publisher,
      clock,
      accepted,
      limit,
      writeKey,
      operatorKey: catalogApiKey,
      maxEventAgeHours,
    });
  });
  await app.register(productsRoutes, { catalog, apiKey: catalogApiKey, limit, gate: catalogGate });
  return app;
}
