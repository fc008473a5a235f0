import type { EventType } from '@lambdarec/contracts';
import {
  CustomerIndexBuilder,
  historyRanker,
  SimilarityIndex,
  type BatchPolicy,
  type BlendWeights,
  type HistoryRanker,
  type Interaction,
  type ProductFacts,
  type ScoredItem,
  type UserHistory,
} from '@lambdarec/domain';
import type { PgClient, Queryable } from '@lambdarec/clients';
import { decodeList, type StoredList } from './batch-view-lists.js';
import { parsePurchaseDays } from './purchase-days.js';

/**
 * What a published run ranked its users with, kept until the run is pruned (ADR 017): each
 * user's frozen history, the run's product facts, similar items, trained weights and the time its
 * decay was anchored at. Serving ranks a customer again with them after a purchase.
 */

const ROW_SEPARATOR = '\x1e';
const FIELD_SEPARATOR = '\x1f';

/**
 * Copies every user's rows of a run's frozen input into `rec_user_history`, on the client of the
 * user-lists stage's transaction: one statement, the rows never leave Postgres. Each row as
 * `product \x1f type \x1f count \x1f latest time (epoch ms) \x1f category \x1f purchase days`, empty
 * for none, rows joined by \x1e in no particular order (`decodeHistory` orders them).
 */
export async function keepUserHistories(client: PgClient, runId: string): Promise<number> {
  const { rowCount } = await client.query(
    `INSERT INTO rec_user_history (run_id, user_id, history)
     SELECT run_id, user_id,
            string_agg(product_id || E'\\x1f' || type || E'\\x1f' || n || E'\\x1f' || (extract(epoch FROM last_at) * 1000)::bigint
                       || E'\\x1f' || coalesce(category, '') || E'\\x1f' || coalesce(purchase_days::text, ''), E'\\x1e')
     FROM batch_input WHERE run_id = $1
     GROUP BY run_id, user_id`,
    [runId],
  );
  return rowCount ?? 0;
}

/** A user's rows as `rec_user_history` stores them (what `keepUserHistories` writes, from memory). */
export function historyText(rows: readonly Interaction[]): string {
  return rows
    .map((row) =>
      [
        row.productId,
        row.type,
        row.count,
        row.lastAt,
        row.category ?? '',
        row.purchaseDays === undefined ? '' : `{${row.purchaseDays.join(',')}}`,
      ].join(FIELD_SEPARATOR),
    )
    .join(ROW_SEPARATOR);
}

/**
 * A stored history back as rows, in the order the run streamed them (product, then type, in byte
 * order: ids are ASCII) and purchase days ascending, as the re-buy vector reads them.
 */
export function decodeHistory(userId: string, stored: string): Interaction[] {
  if (stored === '') return [];
  const rows = stored.split(ROW_SEPARATOR).map((text): Interaction => {
    const [productId = '', type = '', count = '', lastAt = '', category = '', days = ''] = text.split(FIELD_SEPARATOR);
    return {
      userId,
      productId,
      type: type as EventType,
      count: Number(count),
      lastAt: Number(lastAt),
      category: category === '' ? null : category,
      purchaseDays: days === '' ? undefined : parsePurchaseDays(days),
    };
  });
  return rows.sort((a, b) =>
    a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0,
  );
}

/**
 * The product facts a run's user-lists stage wrote, in name order (`runGuard`: the standby
 * guard of a reader that may ask a standby, as `createBatchViewReader` adds it).
 */
export async function productFactsOf(pool: Queryable, runId: string, runGuard = ''): Promise<ProductFacts[]> {
  const { rows } = await pool.query<{
    product_id: string;
    category: string | null;
    popularity: number;
    buyers: number;
    rebuyers: number;
    rebuy_interval_days: number | null;
  }>(
    `SELECT product_id, category, popularity, buyers, rebuyers, rebuy_interval_days
     FROM batch_product_facts WHERE run_id = $1${runGuard} ORDER BY product_id`,
    [runId],
  );
  return rows.map((row) => ({
    productId: row.product_id,
    category: row.category,
    popularity: row.popularity,
    buyers: row.buyers,
    rebuyers: row.rebuyers,
    rebuyIntervalDays: row.rebuy_interval_days,
  }));
}

/**
 * A run's rows of a table keyed by (run_id, `key`), `pageSize` keys a query in key order (keyset
 * paging): a caller holds one page, whatever the table's size. `runGuard` as for `productFactsOf`.
 */
async function* runRowsByKey<Value>(
  pool: Queryable,
  { table, key, value }: { table: 'rec_similar_items' | 'rec_user_history'; key: string; value: string },
  runId: string,
  { runGuard, pageSize }: { runGuard: string; pageSize: number },
): AsyncGenerator<{ page_key: string; page_value: Value }> {
  let after = '';
  for (;;) {
    const { rows } = await pool.query<{ page_key: string; page_value: Value }>(
      `SELECT ${key} AS page_key, ${value} AS page_value FROM ${table}
       WHERE run_id = $1 AND ${key} > $2${runGuard} ORDER BY ${key} LIMIT ${Math.trunc(pageSize)}`,
      [runId, after],
    );
    yield* rows;
    if (rows.length < pageSize) return;
    after = rows.at(-1)!.page_key;
  }
}

/**
 * A run's similar lists, `pageSize` products a query (`runGuard` as for `productFactsOf`): what
 * the batch's user-items shards and serving's ranker rank with.
 */
export async function similarListsOf(
  pool: Queryable,
  runId: string,
  { runGuard = '', pageSize = 500 }: { runGuard?: string; pageSize?: number } = {},
): Promise<Map<string, ScoredItem[]>> {
  const similar = new Map<string, ScoredItem[]>();
  const rows = runRowsByKey<StoredList>(pool, { table: 'rec_similar_items', key: 'product_id', value: 'items' }, runId, {
    runGuard,
    pageSize,
  });
  for await (const row of rows) similar.set(row.page_key, decodeList(row.page_value));
  return similar;
}

/** The run-wide part of what a run ranked with; the histories are read apart (`RunHistoryReader.histories`). */
export interface RunRankingSnapshot {
  /** When the run anchored decay (its `asOf`). */
  asOf: number;
  /** Every product of the run's input, in name order. */
  facts: ProductFacts[];
  similar: Map<string, ScoredItem[]>;
  blend: BlendWeights | undefined;
}

export interface RunHistoryReader {
  /** What the run ranked with, but the histories; undefined for a run that kept none (published before ADR 017). */
  rankingSnapshot(runId: string): Promise<RunRankingSnapshot | undefined>;
  /** Every user's history, users in name order, `pageSize` users per query. */
  histories(runId: string, pageSize?: number): AsyncGenerator<UserHistory>;
  /** One user's history in the run (empty for a user the run did not read). */
  userHistory(runId: string, userId: string): Promise<Interaction[]>;
}

export function createRunHistoryReader({
  pool,
  requireRun = false,
  similarPage = 500,
}: {
  pool: Queryable;
  /** As `createBatchViewReader`'s: a standby that has not replayed the run yet says so instead of answering empty. */
  requireRun?: boolean;
  /** Products whose similar lists one query of `rankingSnapshot` reads. @defaultValue 500 */
  similarPage?: number;
}): RunHistoryReader {
  const runGuard = requireRun ? ' AND lrec_require_run($1)' : '';
  return {
    async rankingSnapshot(runId) {
      const run = await pool.query<{ as_of: Date | null; blend: BlendWeights | null }>(
        `SELECT ranked_as_of AS as_of, stats -> 'blend' AS blend FROM batch_runs WHERE run_id = $1${runGuard}`,
        [runId],
      );
      const asOf = run.rows[0]?.as_of;
      if (asOf === null || asOf === undefined) return undefined;
      const facts = await productFactsOf(pool, runId, runGuard);
      const similar = await similarListsOf(pool, runId, { runGuard, pageSize: similarPage });
      return { asOf: asOf.getTime(), facts, similar, blend: run.rows[0]!.blend ?? undefined };
    },

    async *histories(runId, pageSize = 2_000) {
      // Pages by key, not one query: a process holds a page of users at a time, whatever the shop's size.
      const rows = runRowsByKey<string>(pool, { table: 'rec_user_history', key: 'user_id', value: 'history' }, runId, {
        runGuard,
        pageSize,
      });
      for await (const row of rows) yield { userId: row.page_key, rows: decodeHistory(row.page_key, row.page_value) };
    },

    async userHistory(runId, userId) {
      const { rows } = await pool.query<{ history: string }>(
        `SELECT history FROM rec_user_history WHERE run_id = $1 AND user_id = $2${runGuard}`,
        [runId, userId],
      );
      return rows[0] === undefined ? [] : decodeHistory(userId, rows[0].history);
    },
  };
}

/** A run's ranker, ready to rank one more history, and how long reading and building it took. */
export interface LoadedRunRanker {
  rank: HistoryRanker;
  /** When the run anchored decay: purchases after it are the ones the run has not read. */
  asOf: number;
  customers: number;
  /** Bytes in the customer index's typed arrays (its memory but for the ids). */
  indexBytes: number;
  ms: number;
}

/**
 * Rebuilds what a run ranked with from what it kept: its facts, similar items and trained weights,
 * and every customer's re-buy vector from their history (streamed, one page of users at a time),
 * so that ranking a user's own history at the run's `asOf` gives the run's list (ADR 017).
 * Undefined for a run that kept none.
 */
export async function loadRunRanker(reader: RunHistoryReader, runId: string, policy: BatchPolicy): Promise<LoadedRunRanker | undefined> {
  const started = performance.now();
  const snapshot = await reader.rankingSnapshot(runId);
  if (snapshot === undefined) return undefined;
  const builder = new CustomerIndexBuilder(
    snapshot.facts.map((fact) => fact.productId),
    snapshot.asOf,
    policy,
  );
  let customers = 0;
  for await (const { userId, rows } of reader.histories(runId)) {
    builder.addUser(userId, rows);
    customers++;
  }
  const index = builder.build();
  const rank = historyRanker(
    { facts: snapshot.facts, similar: new SimilarityIndex(snapshot.similar), customers: index, blend: snapshot.blend },
    policy,
  );
  return { rank, asOf: snapshot.asOf, customers, indexBytes: index.arrayBytes, ms: Math.round(performance.now() - started) };
}
