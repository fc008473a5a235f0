import type { Product } from '@lambdarec/contracts';
import type { CatalogFacts } from '@lambdarec/domain';
import type { PgPool } from '@lambdarec/clients';

export interface CatalogRepository {
  upsert(products: readonly Product[]): Promise<number>;
  /** Facts for the given products; products the catalog does not know are absent from the map. */
  facts(productIds: readonly string[]): Promise<Map<string, CatalogFacts>>;
  count(): Promise<number>;
}

export function createCatalogRepository({ pool }: { pool: PgPool }): CatalogRepository {
  return {
    async upsert(products) {
      if (products.length === 0) return 0;
      // The last occurrence of a productId in one request wins, as if the items were sent one by one.
      const latest = new Map(products.map((p) => [p.productId, p]));
      const rows = [...latest.values()];
      await pool.query(
        `INSERT INTO products (product_id, category, title, price, in_stock, updated_at)
         SELECT * , now() FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::bool[])
         ON CONFLICT (product_id) DO UPDATE
           SET category = EXCLUDED.category, title = EXCLUDED.title, price = EXCLUDED.price,
               in_stock = EXCLUDED.in_stock, updated_at = now()`,
        [
          rows.map((p) => p.productId),
          rows.map((p) => p.category ?? null),
          rows.map((p) => p.title ?? null),
          rows.map((p) => p.price ?? null),
          rows.map((p) => p.inStock),
        ],
      );
      return products.length;
    },

    async facts(productIds) {
      const facts = new Map<string, CatalogFacts>();
      if (productIds.length === 0) return facts;
      const { rows } = await pool.query<{ product_id: string; category: string | null; in_stock: boolean }>(
        'SELECT product_id, category, in_stock FROM products WHERE product_id = ANY($1::text[])',
        [productIds],
      );
      for (const row of rows) facts.set(row.product_id, { category: row.category, inStock: row.in_stock });
      return facts;
    },

    async count() {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
      return rows[0]?.n ?? 0;
    },
  };
}
