import { createPgPool } from '@lambdarec/clients';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createStorefront } from './app.js';
import { storefrontConfigSchema } from '@lambdarec/config';
import { runService } from '@lambdarec/lifecycle';

await runService({
  name: 'storefront',
  schema: storefrontConfigSchema,
  env: process.env,
  async start(config, log, defer) {
    // Read-only, like serving: ingest and batch apply the migrations. Pages give up on a stalled
    // Postgres after 2 s instead of holding the shopper.
    const pool = createPgPool({ url: config.DATABASE_URL, log, applicationName: 'lambdarec-storefront', max: 5, queryTimeoutMs: 2_000 });
    defer('postgres', () => pool.end());
    const app = await createStorefront({ pool, config, log, registry: createMetricsRegistry('storefront') });
    defer('http server', () => app.close());
    await app.listen({ port: config.PORT, host: config.HOST });
  },
});
