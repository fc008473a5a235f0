import { createLogger, createPgPool } from '@lambdarec/clients';
import type { SimulatedProduct } from './traffic.js';

/**
 * The shop's in-stock products from the catalog in Postgres (what `npm start` or `npm run load`
 * put there). CatalogRepository has no listing yet (it answers facts for given ids), so this one
 * read-only query lives here until the repository grows a `list()`; the columns are the ones that
 * repository writes.
 */
export async function readCatalog(databaseUrl: string): Promise<SimulatedProduct[]> {
  const pool = createPgPool({ url: databaseUrl, log: createLogger({ name: 'simulate', level: 'warn' }), applicationName: 'lambdarec-simulate', max: 1 });
  try {
    const { rows } = await pool.query<{ product_id: string; price: number | null }>(
      'SELECT product_id, price FROM products WHERE in_stock ORDER BY product_id',
    );
    return rows.map((row) => ({ productId: row.product_id, price: row.price ?? undefined }));
  } finally {
    await pool.end();
  }
}
