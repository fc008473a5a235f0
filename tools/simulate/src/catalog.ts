import { createLogger, createPgPool } from '@lambdarec/clients';
import { byName } from '@lambdarec/domain';
import { createCatalogListing } from '@lambdarec/stores';
import type { SimulatedProduct } from './traffic.js';

/** The shop's in-stock products from the catalog in Postgres (what `npm start` or `npm run load` put there). */
export async function readCatalog(databaseUrl: string): Promise<SimulatedProduct[]> {
  const pool = createPgPool({
    url: databaseUrl,
    log: createLogger({ name: 'simulate', level: 'warn' }),
    applicationName: 'lambdarec-simulate',
    max: 1,
  });
  try {
    const products = await createCatalogListing({ pool }).products({ limit: 1_000_000, inStockOnly: true });
    return products
      .map((p) => ({ productId: p.productId, price: p.price ?? undefined, category: p.category ?? undefined }))
      .sort((a, b) => byName(a.productId, b.productId));
  } finally {
    await pool.end();
  }
}
