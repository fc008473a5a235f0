import type { Logger, PgPool } from '@lambdarec/clients';
import { createServiceApp, type HttpServer, type ReadinessCheck } from '@lambdarec/http';
import { type Registry } from '@lambdarec/metrics';
import { createCatalogListing, type CatalogListing } from '@lambdarec/stores';
import type { StorefrontConfig } from '@lambdarec/config';
import { assetsRoutes } from './routes/assets.js';
import { pagesRoutes } from './routes/pages.js';
import { createServingClient, type ServingClient } from './serving-client.js';
import { createShop } from './shop.js';

/** The page script and stylesheet, beside this module in src/ and beside main.js in dist/ (the build copies them). */
export const DEFAULT_ASSETS_DIRECTORY = new URL('./public/', import.meta.url);

export interface StorefrontAppOptions {
  log: Logger;
  registry: Registry;
  catalog: CatalogListing;
  serving: ServingClient;
  /** Dependencies without which no page can be shown (the catalog's Postgres). */
  checks: Record<string, ReadinessCheck>;
  /** Dependencies the shop can do without for a while (serving: pages show no recommendations). */
  optionalChecks?: Record<string, ReadinessCheck>;
  /** Ingest's public base URL, where the page posts events. */
  ingestUrl: string;
  writeKey?: string | undefined;
  shoppers: readonly [string, ...string[]];
  /** @defaultValue DEFAULT_ASSETS_DIRECTORY */
  assetsDirectory?: URL;
}

/** The storefront HTTP app, built but not listening. */
export async function buildStorefrontApp({
  log,
  registry,
  catalog,
  serving,
  checks,
  optionalChecks,
  ingestUrl,
  writeKey,
  shoppers,
  assetsDirectory = DEFAULT_ASSETS_DIRECTORY,
}: StorefrontAppOptions): Promise<HttpServer> {
  const app = await createServiceApp({ log, registry, checks, optionalChecks });
  await app.register(assetsRoutes, { directory: assetsDirectory });
  await app.register(pagesRoutes, { catalog, shop: createShop({ catalog, serving, log }), ingestUrl, writeKey, shoppers });
  return app;
}

/** What the storefront reads from its configuration; the database URL, host and port stay with main.ts. */
export type StorefrontSettings = Pick<
  StorefrontConfig,
  'SERVING_URL' | 'INGEST_URL' | 'EVENTS_WRITE_KEY' | 'STOREFRONT_SHOPPERS' | 'SERVING_TIMEOUT_MS'
>;

export interface StorefrontOptions {
  /** Borrowed: whoever created it closes it. */
  pool: PgPool;
  config: StorefrontSettings;
  log: Logger;
  registry: Registry;
  /** @defaultValue globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}

/** The storefront's whole graph from its clients and settings; main.ts and the tests build it here. */
export async function createStorefront({ pool, config, log, registry, fetch = globalThis.fetch }: StorefrontOptions): Promise<HttpServer> {
  return buildStorefrontApp({
    log,
    registry,
    catalog: createCatalogListing({ pool }),
    serving: createServingClient({ baseUrl: config.SERVING_URL, timeoutMs: config.SERVING_TIMEOUT_MS, fetch }),
    checks: { postgres: () => pool.query('SELECT 1') },
    optionalChecks: {
      serving: async () => {
        const res = await fetch(`${config.SERVING_URL}/readyz`, { signal: AbortSignal.timeout(config.SERVING_TIMEOUT_MS) });
        if (!res.ok) throw new Error(`serving /readyz answered ${res.status}`);
      },
    },
    ingestUrl: config.INGEST_URL,
    writeKey: config.EVENTS_WRITE_KEY,
    shoppers: config.STOREFRONT_SHOPPERS,
  });
}
