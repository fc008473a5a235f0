import { randomBytes } from 'node:crypto';

/** The services' environment for a fault run: the cluster's connection variables and credentials of the run's own. */
export function fleetEnvironment(infraEnv: Record<string, string>, overrides: Record<string, string> = {}): Record<string, string> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  // A REDIS_URL from the caller's shell would select a single Redis beside the cluster (a config error).
  delete inherited['REDIS_URL'];
  return {
    ...inherited,
    ...infraEnv,
    DASHBOARD_USER: 'chaos',
    DASHBOARD_PASSWORD: randomBytes(9).toString('base64url'),
    CATALOG_API_KEY: randomBytes(18).toString('base64url'),
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

/** A small catalog of the run's own: 60 products in 6 categories, so sessions boost categories and products alike. */
export function chaosCatalog(): { productId: string; category: string; title: string; inStock: boolean }[] {
  return Array.from({ length: 60 }, (_, i) => ({
    productId: `chaos-p-${i + 1}`,
    category: `chaos-c-${(i % 6) + 1}`,
    title: `Chaos product ${i + 1}`,
    inStock: true,
  }));
}
