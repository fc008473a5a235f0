import type { Product } from '@lambdarec/contracts';
import type { CatalogFacts } from '@lambdarec/domain';
import type { Queryable } from '@lambdarec/clients';

/**
 * The catalog writes a read could not see: those of transactions at or after `xmax`, and of the
 * transactions still `inProgress` when it ran (a Postgres snapshot, top-level ids as xid8). Each
 * product row records the transaction that last wrote it, so a later look for rows written by
 * these finds every change the read missed, however long the writing transaction ran.
 */
export interface CatalogSnapshot {
  xmax: bigint;
  inProgress: readonly bigint[];
}

/** The writes that either snapshot could not see (at least those: a later look for them misses nothing either missed). */
export function unseenByEither(a: CatalogSnapshot | undefined, b: CatalogSnapshot | undefined): CatalogSnapshot | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  const xmax = a.xmax < b.xmax ? a.xmax : b.xmax;
  // Ids at or after the lower xmax are covered by it already.
  const inProgress = [...new Set([...a.inProgress, ...b.inProgress])].filter((xid) => xid < xmax);
  return { xmax, inProgress };
}

/**
 * The statement's snapshot as `xmin:xmax:xip,xip,…`. On a hot standby pg_current_snapshot() lists
 * no transaction in progress, even while the primary runs some: the standby keeps their ids as
 * subtransactions, which the function leaves out (PostgreSQL 15, checked on a streaming standby).
 * Its xmin is right there, so a standby's snapshot counts every transaction from xmin on as
 * unseen: a look may read a change again, but never miss a long transaction's write.
 */
const SNAPSHOT_SQL = `CASE WHEN pg_is_in_recovery()
    THEN pg_snapshot_xmin(pg_current_snapshot())::text || ':' || pg_snapshot_xmin(pg_current_snapshot())::text || ':'
    ELSE pg_current_snapshot()::text END`;

/** pg_snapshot's text form, `xmin:xmax:xip,xip,…`. */
const parseSnapshot = (text: string): CatalogSnapshot => {
  const [, xmax, inProgress] = text.split(':');
  return { xmax: BigInt(xmax!), inProgress: inProgress ? inProgress.split(',').map(BigInt) : [] };
};

interface FactsRow {
  product_id: string | null;
  category: string | null;
  in_stock: boolean | null;
}

interface FactsInSnapshotRow extends FactsRow {
  snapshot: string;
}

const factsOf = (rows: readonly FactsRow[]): Map<string, CatalogFacts> => {
  const facts = new Map<string, CatalogFacts>();
  for (const row of rows) if (row.product_id !== null) facts.set(row.product_id, { category: row.category, inStock: row.in_stock! });
  return facts;
};

export interface CatalogRepository {
  /**
   * Sets the fields each product sends and keeps those it leaves out; a new product is in stock
   * unless it says otherwise. Answers how many items were given, repeats included.
   */
  upsert(products: readonly Product[]): Promise<number>;
  /** Facts for the given products; products the catalog does not know are absent from the map. */
  facts(productIds: readonly string[]): Promise<Map<string, CatalogFacts>>;
  /** The same facts, with the snapshot they were read in: what a cache of them must look for next. */
  factsWithSnapshot(productIds: readonly string[]): Promise<{ facts: Map<string, CatalogFacts>; snapshot: CatalogSnapshot }>;
  count(): Promise<number>;
  /**
   * Facts of the products written by transactions `since` could not see (with no `since`, none),
   * and the snapshot this look ran in: the `since` of the next. Called with each answer's snapshot,
   * it sees every committed write exactly once or more, whenever its transaction began or ended.
   */
  changesSince(since: CatalogSnapshot | undefined): Promise<{ snapshot: CatalogSnapshot; changes: Map<string, CatalogFacts> }>;
}

export function createCatalogRepository({ pool }: { pool: Queryable }): CatalogRepository {
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
      if (productIds.length === 0) return new Map();
      const { rows } = await pool.query<FactsRow>(
        'SELECT product_id, category, in_stock FROM products WHERE product_id = ANY($1::text[])',
        [productIds],
      );
      return factsOf(rows);
    },

    async factsWithSnapshot(productIds) {
      // One statement, so the snapshot is the one the rows were read in; one row even when none match.
      const { rows } = await pool.query<FactsInSnapshotRow>(
        `SELECT s.snapshot, p.product_id, p.category, p.in_stock
           FROM (SELECT ${SNAPSHOT_SQL} AS snapshot) s
           LEFT JOIN products p ON p.product_id = ANY($1::text[])`,
        [productIds],
      );
      return { facts: factsOf(rows), snapshot: parseSnapshot(rows[0]!.snapshot) };
    },

    async changesSince(since) {
      // Two index scans: transactions that began after `since` was taken, and the few it saw running.
      const { rows } = await pool.query<FactsInSnapshotRow>(
        `SELECT s.snapshot, p.product_id, p.category, p.in_stock
           FROM (SELECT ${SNAPSHOT_SQL} AS snapshot) s
           LEFT JOIN products p ON p.changed_xid >= $1::xid8 OR p.changed_xid = ANY($2::xid8[])`,
        [since === undefined ? null : String(since.xmax), (since?.inProgress ?? []).map(String)],
      );
      return { snapshot: parseSnapshot(rows[0]!.snapshot), changes: factsOf(rows) };
    },

    async count() {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
      return rows[0]?.n ?? 0;
    },
  };
}
