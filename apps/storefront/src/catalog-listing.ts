import type { PgPool } from '@lambdarec/clients';

export interface ListedProduct {
  productId: string;
  category: string | null;
  title: string | null;
  price: number | null;
  inStock: boolean;
}

export interface CategorySummary {
  category: string;
  products: number;
}

/**
 * What a shop window needs from the catalog: its categories, a page of products, and the products
 * a recommendation names. Read-only.
 *
 * The catalog repository in @lambdarec/stores owns the products table and has no listing yet;
 * these three reads belong there beside its upsert, and this module goes once they are.
 */
export interface CatalogListing {
  /** Categories with their number of products, by name; products without a category are left out. */
  categories(): Promise<CategorySummary[]>;
  /** Products by category and title, in stock or not (the page marks sold-out ones). */
  products(options: { category?: string | undefined; limit: number }): Promise<ListedProduct[]>;
  /** The given products the catalog knows. */
  byIds(productIds: readonly string[]): Promise<Map<string, ListedProduct>>;
}

interface ProductRow {
  product_id: string;
  category: string | null;
  title: string | null;
  price: number | null;
  in_stock: boolean;
}

const toProduct = (row: ProductRow): ListedProduct => ({
  productId: row.product_id,
  category: row.category,
  title: row.title,
  price: row.price,
  inStock: row.in_stock,
});

export function createCatalogListing({ pool }: { pool: PgPool }): CatalogListing {
  return {
    async categories() {
      const { rows } = await pool.query<{ category: string; products: number }>(
        'SELECT category, count(*)::int AS products FROM products WHERE category IS NOT NULL GROUP BY category ORDER BY category',
      );
      return rows;
    },

    async products({ category, limit }) {
      const { rows } = await pool.query<ProductRow>(
        `SELECT product_id, category, title, price, in_stock FROM products
          WHERE $1::text IS NULL OR category = $1
          ORDER BY category NULLS LAST, title NULLS LAST, product_id
          LIMIT $2`,
        [category ?? null, limit],
      );
      return rows.map(toProduct);
    },

    async byIds(productIds) {
      const found = new Map<string, ListedProduct>();
      if (productIds.length === 0) return found;
      const { rows } = await pool.query<ProductRow>(
        'SELECT product_id, category, title, price, in_stock FROM products WHERE product_id = ANY($1::text[])',
        [productIds],
      );
      for (const row of rows) found.set(row.product_id, toProduct(row));
      return found;
    },
  };
}
