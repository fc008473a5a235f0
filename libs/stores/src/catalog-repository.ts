import type { Product } from '@lambdarec/contracts';
import type { CatalogFacts } from '@lambdarec/domain';
import type { PgPool } from '@lambdarec/clients';

export interface CatalogRepository {
  /**
   * Sets the fields each product sends and keeps those it leaves out; a new product is in stock
   * unless it says otherwise. Answers how many items were given, repeats included.
   */
  upsert(products: readonly Product[]): Promise<number>;
  /** Facts for the given products; products the catalog does not know are absent from the map. */
  facts(productIds: readonly string[]): Promise<Map<string, CatalogFacts>>;
  count(): Promise<number>;
  /**
   * Facts of the products written at or after `since` minus `overlapSeconds` (by the database's
   * clock; with no `since`, the database's now), and that clock's reading when the query ran:
   * the `since` of the next call. The overlap re-reads recent writes, so one whose statement began
   * before a read but committed after it is still seen by a later read.
   */
  changedSince(since: Date | undefined, overlapSeconds: number): Promise<{ asOf: Date; changes: Map<string, CatalogFacts> }>;
}

export function createCatalogRepository({ pool }: { pool: PgPool }): CatalogRepository {
  return {
    async upsert(products) {
      if (products.length === 0) return 0;
      // Repeats of a productId in one request merge as if the items were sent one by one: a later
      // occurrence wins for the fields it sends, an earlier one's other fields still apply.
      const merged = new Map<string, Product>();
      for (const product of products) {
        const earlier = merged.get(product.productId);
        merged.set(product.productId, {
          productId: product.productId,
          category: product.category ?? earlier?.category,
          title: product.title ?? earlier?.title,
          price: product.price ?? earlier?.price,
          inStock: product.inStock ?? earlier?.inStock,
        });
      }
      const rows = [...merged.values()];
      // Fields a product leaves out are kept (a price feed must not put a sold-out product back in
      // stock); a new product is in stock unless it says otherwise. in_stock is NOT NULL, so the
      // raw given value (NULL when left out) is kept in the CTE for the conflict branch to tell
      // "not sent" from "sent", while the inserted row carries the default.
      await pool.query(
        `WITH given (product_id, category, title, price, in_stock) AS (
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::bool[])
         )
         INSERT INTO products AS p (product_id, category, title, price, in_stock, updated_at)
         SELECT product_id, category, title, price, COALESCE(in_stock, true), now() FROM given
         ON CONFLICT (product_id) DO UPDATE
           SET category = COALESCE(EXCLUDED.category, p.category),
               title = COALESCE(EXCLUDED.title, p.title),
               price = COALESCE(EXCLUDED.price, p.price),
               in_stock = COALESCE((SELECT g.in_stock FROM given g WHERE g.product_id = EXCLUDED.product_id), p.in_stock),
               updated_at = now()`,
        [
          rows.map((p) => p.productId),
          rows.map((p) => p.category ?? null),
          rows.map((p) => p.title ?? null),
          rows.map((p) => p.price ?? null),
          rows.map((p) => p.inStock ?? null),
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

    async changedSince(since, overlapSeconds) {
      // One round trip, and one row even when nothing changed: the clock reading comes with the changes.
      const { rows } = await pool.query<{ as_of: Date; product_id: string | null; category: string | null; in_stock: boolean | null }>(
        `SELECT clock.as_of, p.product_id, p.category, p.in_stock
           FROM (SELECT now() AS as_of) clock
           LEFT JOIN products p ON p.updated_at >= COALESCE($1::timestamptz, clock.as_of) - make_interval(secs => $2)`,
        [since ?? null, overlapSeconds],
      );
      const changes = new Map<string, CatalogFacts>();
      for (const row of rows) if (row.product_id !== null) changes.set(row.product_id, { category: row.category, inStock: row.in_stock! });
      return { asOf: rows[0]!.as_of, changes };
    },

    async count() {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
      return rows[0]?.n ?? 0;
    },
  };
}
