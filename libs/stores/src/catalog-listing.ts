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
 * What a shop window (the storefront) or a traffic generator (`npm run simulate`) needs from the
 * catalog: its categories, a page of products, and the products a recommendation names. Read-only,
 * beside the catalog repository that writes the same table.
 */
export interface CatalogListing {
  /** Categories with their number of products, by name; products without a category are left out. */
  categories(): Promise<CategorySummary[]>;
  /** Products by category and title, in stock or not (a page marks sold-out ones) unless `inStockOnly`. */
  products(options: { category?: string | undefined; limit: number; inStockOnly?: boolean }): Promise<ListedProduct[]>;
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

    async products({ category, limit, inStockOnly = false }) {
      const { rows } = await pool.query<ProductRow>(
        `SELECT product_id, category, title, price, in_stock FROM products
          WHERE ($1::text IS NULL OR category = $1) AND (in_stock OR NOT $3)
          ORDER BY category NULLS LAST, title NULLS LAST, product_id
          LIMIT $2`,
        [category ?? null, limit, inStockOnly],
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
