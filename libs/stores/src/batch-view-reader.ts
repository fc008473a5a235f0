import type { Candidate, RepurchaseStats } from '@lambdarec/domain';
import type { Queryable } from '@lambdarec/clients';
import { decodeList, type StoredList } from './batch-view-lists.js';

export interface PublishedRun {
  runId: string;
  publishedAt: string;
}

/** The read side of the batch view. Each call names its run, so a request never mixes two runs. */
export interface BatchViewReader {
  publishedRun(): Promise<PublishedRun | undefined>;
  userItems(runId: string, userId: string): Promise<Candidate[]>;
  similarItems(runId: string, productIds: readonly string[]): Promise<Map<string, Candidate[]>>;
  popularItems(runId: string): Promise<Candidate[]>;
  /** category → the run's most popular products in it. */
  categoryPopular(runId: string): Promise<Map<string, Candidate[]>>;
  /** What the run learned about re-buying these products and these categories (absent: nothing). */
  repurchase(runId: string, productIds: readonly string[], categories: readonly string[]): Promise<RepurchaseFacts>;
}

export interface RepurchaseFacts {
  products: Map<string, RepurchaseStats>;
  categories: Map<string, RepurchaseStats>;
}

export function createBatchViewReader({
  pool,
  requireRun = false,
}: {
  pool: Queryable;
  /**
   * Each read of a run's rows first makes sure the server has the run (migration 1765200000000):
   * one that does not raises the SQLSTATE `REPLICA_BEHIND_SQLSTATE` instead of answering empty
   * lists. For a read side that may ask a standby about a run it learned of on the primary.
   * @defaultValue false: on one server, a published run's rows are all there
   */
  requireRun?: boolean;
}): BatchViewReader {
  // The guard names no column, so Postgres evaluates it once, before the scan, even when no row matches.
  const runGuard = requireRun ? ' AND lrec_require_run($1)' : '';
  return {
    async publishedRun() {
      const { rows } = await pool.query<{ run_id: string; published_at: Date }>(
        'SELECT run_id, published_at FROM published_run WHERE singleton',
      );
      const row = rows[0];
      return row === undefined ? undefined : { runId: row.run_id, publishedAt: row.published_at.toISOString() };
    },

    async userItems(runId, userId) {
      const { rows } = await pool.query<{ items: StoredList }>(
        `SELECT items FROM rec_user_items WHERE run_id = $1 AND user_id = $2${runGuard}`,
        [runId, userId],
      );
      return rows[0] === undefined ? [] : decodeList(rows[0].items);
    },

    async similarItems(runId, productIds) {
      const similar = new Map<string, Candidate[]>();
      if (productIds.length === 0) return similar;
      const { rows } = await pool.query<{ product_id: string; items: StoredList }>(
        `SELECT product_id, items FROM rec_similar_items WHERE run_id = $1 AND product_id = ANY($2::text[])${runGuard}`,
        [runId, productIds],
      );
      for (const row of rows) similar.set(row.product_id, decodeList(row.items));
      return similar;
    },

    async popularItems(runId) {
      const { rows } = await pool.query<{ items: StoredList }>(`SELECT items FROM rec_popular_items WHERE run_id = $1${runGuard}`, [runId]);
      return rows[0] === undefined ? [] : decodeList(rows[0].items);
    },

    async categoryPopular(runId) {
      const { rows } = await pool.query<{ category: string; items: StoredList }>(
        `SELECT category, items FROM rec_category_popular WHERE run_id = $1${runGuard}`,
        [runId],
      );
      return new Map(rows.map((row) => [row.category, decodeList(row.items)]));
    },

    async repurchase(runId, productIds, categories) {
      const facts: RepurchaseFacts = { products: new Map(), categories: new Map() };
      if (productIds.length === 0 && categories.length === 0) return facts;
      const { rows } = await pool.query<{ scope: 'product' | 'category'; key: string; buyers: number; rebuyers: number }>(
        `SELECT scope, key, buyers, rebuyers FROM rec_repurchase
         WHERE run_id = $1 AND ((scope = 'product' AND key = ANY($2::text[])) OR (scope = 'category' AND key = ANY($3::text[])))${runGuard}`,
        [runId, productIds, categories],
      );
      for (const row of rows)
        (row.scope === 'product' ? facts.products : facts.categories).set(row.key, { buyers: row.buyers, rebuyers: row.rebuyers });
      return facts;
    },
  };
}
