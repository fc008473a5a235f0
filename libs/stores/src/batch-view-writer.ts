import type { BatchModel, BlendWeights, ProductFacts, RankedCandidate, RepurchaseTable, ScoredItem, UserHistory } from '@lambdarec/domain';
import { withTransaction, type PgClient, type PgPool } from '@lambdarec/clients';
import { copyRows } from './copy.js';
import { createRankedListEncoder, listJson } from './batch-view-lists.js';
import { historyText, keepUserHistories, productFactsOf, similarListsOf } from './run-history.js';

export interface ShardTotals {
  shards: number;
  pairs: number;
  rowsWritten: number;
  /**
   * Whether the finished shards cover the whole stage: each owns the residue `shard` modulo
   * `shards`, a split shard's halves own `shard` and `shard + shards` modulo `2 * shards`, and
   * the residues of all the finished ones add up to one whole.
   */
  covered: boolean;
}

/** What a finished shard did, recorded with its rows. */
export interface ShardRecord {
  stage: 'user-lists' | 'similar-items' | 'user-items';
  shard: number;
  shards: number;
  rowsRead: number;
  pairs?: number;
}

/**
 * The write side of the batch view. Shards write their rows under the run id while the run is
 * unpublished (no reader asks for that run yet); each shard's rows and its record go in one
 * transaction, so a shard is either wholly written or not at all, and a retried shard that finds
 * its record does nothing.
 */
export interface BatchViewWriter {
  /** Whether the shard already finished (a retried or duplicated shard job). */
  shardDone(runId: string, stage: ShardRecord['stage'], shard: number): Promise<boolean>;
  /**
   * The user-lists step, streamed: each user's co-occurrence list (product numbers and weights,
   * comma-separated), then every product's facts once the stream has ended. The run keeps its
   * users' histories and `asOf` (what serving re-ranks a customer with, ADR 017) in the same
   * transaction.
   */
  writeUserLists(
    runId: string,
    record: Omit<ShardRecord, 'rowsRead'>,
    lists: AsyncIterable<readonly [userId: string, products: string, weights: string, rebuyProducts?: string, rebuyWeights?: string]>,
    after: () => { facts: readonly ProductFacts[]; rowsRead: number; blend?: BlendWeights | undefined; asOf: number },
  ): Promise<number>;
  /** A similar-items shard: its products' neighbours. */
  writeSimilarShard(runId: string, record: ShardRecord, similar: ReadonlyMap<string, readonly ScoredItem[]>): Promise<void>;
  /**
   * A user-items shard, streamed: users are written as they are computed, each list (`rankUser`)
   * stored as `userRecommendations` would make it, with `categoryOf` naming the items' categories.
   * Returns how many users have a list.
   */
  writeUserShard(
    runId: string,
    record: Omit<ShardRecord, 'rowsRead'>,
    users: AsyncIterable<readonly [userId: string, items: readonly RankedCandidate[]]>,
    options: { categoryOf: ReadonlyMap<string, string | null>; rowsRead: () => number },
  ): Promise<number>;
  /** The similar lists a run's shards wrote (what the per-user shards rank with). */
  similarItemsOf(runId: string): Promise<Map<string, ScoredItem[]>>;
  /** The product facts a run's shards wrote. */
  productFactsOf(runId: string): Promise<ProductFacts[]>;
  /** Finished shards of a run per stage, with the pairs they counted and the rows they wrote. */
  shardsDone(runId: string): Promise<Record<ShardRecord['stage'], ShardTotals>>;
}

async function recordShard(client: PgClient, runId: string, record: ShardRecord, rowsWritten: number) {
  await client.query(
    `INSERT INTO batch_run_shards (run_id, stage, shard, shards, rows_read, rows_written, pairs) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [runId, record.stage, record.shard, record.shards, record.rowsRead, rowsWritten, record.pairs ?? 0],
  );
}

export function createBatchViewWriter({ pool }: { pool: PgPool }): BatchViewWriter {
  return {
    async shardDone(runId, stage, shard) {
      const { rowCount } = await pool.query('SELECT 1 FROM batch_run_shards WHERE run_id = $1 AND stage = $2 AND shard = $3', [
        runId,
        stage,
        shard,
      ]);
      return rowCount === 1;
    },

    async writeUserLists(runId, record, lists, after) {
      return withTransaction(pool, async (client) => {
        async function* rows() {
          for await (const [userId, products, weights, rebuyProducts, rebuyWeights] of lists) {
            yield [runId, userId, products, weights, rebuyProducts ?? '', rebuyWeights ?? ''] as const;
          }
        }
        const written = await copyRows(
          client,
          'batch_user_lists',
          ['run_id', 'user_id', 'products', 'weights', 'rebuy_products', 'rebuy_weights'],
          rows(),
        );
        const { facts, rowsRead, blend, asOf } = after();
        // The weights the run trained go with it, in the transaction that records the stage done.
        if (blend !== undefined) {
          await client.query(`UPDATE batch_runs SET stats = stats || jsonb_build_object('blend', $2::jsonb) WHERE run_id = $1`, [
            runId,
            JSON.stringify(blend),
          ]);
        }
        await writeRankingInputs(client, runId, facts, asOf);
        await keepUserHistories(client, runId);
        await recordShard(client, runId, { ...record, rowsRead }, written);
        return written;
      });
    },

    async writeSimilarShard(runId, record, similar) {
      await withTransaction(pool, async (client) => {
        const written = await copyRows(
          client,
          'rec_similar_items',
          ['run_id', 'product_id', 'items'],
          [...similar].map(([productId, items]) => [runId, productId, listJson(items)]),
        );
        await recordShard(client, runId, record, written);
      });
    },

    async writeUserShard(runId, record, users, { categoryOf, rowsRead }) {
      const encode = createRankedListEncoder(categoryOf);
      return withTransaction(pool, async (client) => {
        async function* rows() {
          for await (const [userId, items] of users) if (items.length > 0) yield [runId, userId, encode(items)] as const;
        }
        const written = await copyRows(client, 'rec_user_items', ['run_id', 'user_id', 'items'], rows());
        await recordShard(client, runId, { ...record, rowsRead: rowsRead() }, written);
        return written;
      });
    },

    similarItemsOf: (runId) => similarListsOf(pool, runId),

    productFactsOf: (runId) => productFactsOf(pool, runId),

    async shardsDone(runId) {
      // Every modulus divides the widest (a shard's halves double it), so each shard is
      // widest / shards residues of the widest, exactly; shard numbers are unique per stage.
      const { rows } = await pool.query<{ stage: ShardRecord['stage']; n: number; pairs: string; written: string; covered: boolean }>(
        `SELECT stage, count(*)::int AS n, sum(pairs) AS pairs, sum(rows_written) AS written, sum(widest / shards) = max(widest) AS covered
         FROM (SELECT stage, shards, pairs, rows_written, max(shards) OVER (PARTITION BY stage) AS widest FROM batch_run_shards WHERE run_id = $1) AS done
         GROUP BY stage`,
        [runId],
      );
      const none = (): ShardTotals => ({ shards: 0, pairs: 0, rowsWritten: 0, covered: false });
      const done = { 'user-lists': none(), 'similar-items': none(), 'user-items': none() };
      for (const row of rows)
        done[row.stage] = { shards: row.n, pairs: Number(row.pairs), rowsWritten: Number(row.written), covered: row.covered };
      return done;
    },
  };
}

/** The product facts and `asOf` a run ranks with, kept with it (ADR 017). */
async function writeRankingInputs(client: PgClient, runId: string, facts: readonly ProductFacts[], asOf: number): Promise<void> {
  await client.query('UPDATE batch_runs SET ranked_as_of = $2 WHERE run_id = $1', [runId, new Date(asOf)]);
  await copyRows(
    client,
    'batch_product_facts',
    ['run_id', 'product_id', 'category', 'popularity', 'buyers', 'rebuyers', 'rebuy_interval_days'],
    facts.map((f) => [runId, f.productId, f.category, f.popularity, f.buyers, f.rebuyers, f.rebuyIntervalDays]),
  );
}

/** Writes the run-wide rows of the view (popular items overall and per category, re-buying) inside the publishing transaction. */
export async function writeRunWideRows(
  client: PgClient,
  runId: string,
  popular: readonly ScoredItem[],
  repurchase: RepurchaseTable,
  popularByCategory: ReadonlyMap<string, readonly ScoredItem[]> = new Map(),
): Promise<void> {
  await client.query('INSERT INTO rec_popular_items (run_id, items) VALUES ($1, $2)', [runId, listJson(popular)]);
  await copyRows(
    client,
    'rec_category_popular',
    ['run_id', 'category', 'items'],
    [...popularByCategory].map(([category, items]) => [runId, category, listJson(items)]),
  );
  const rows = [
    ...[...repurchase.products].map(([key, stats]) => [runId, 'product', key, stats.buyers, stats.rebuyers] as const),
    ...[...repurchase.categories].map(([key, stats]) => [runId, 'category', key, stats.buyers, stats.rebuyers] as const),
  ];
  await copyRows(client, 'rec_repurchase', ['run_id', 'scope', 'key', 'buyers', 'rebuyers'], rows);
}

/**
 * Writes a whole in-memory model as one shard of each stage (tests, benches and small tools that
 * compute a model with `computeBatchModel`); publish it with `BatchRunsRepository.publish`. With
 * the `histories` it was computed from, the run also keeps what re-ranks a customer (ADR 017), as
 * the batch service's user-lists stage does.
 */
export async function writeWholeModel(pool: PgPool, runId: string, model: BatchModel, histories?: Iterable<UserHistory>): Promise<void> {
  await withTransaction(pool, async (client) => {
    if (histories !== undefined) {
      await writeRankingInputs(client, runId, model.facts, model.asOf);
      await copyRows(
        client,
        'rec_user_history',
        ['run_id', 'user_id', 'history'],
        (function* () {
          for (const { userId, rows } of histories) yield [runId, userId, historyText(rows)];
        })(),
      );
    }
    const similar = await copyRows(
      client,
      'rec_similar_items',
      ['run_id', 'product_id', 'items'],
      [...model.similar].map(([id, items]) => [runId, id, listJson(items)]),
    );
    await recordShard(
      client,
      runId,
      { stage: 'similar-items', shard: 0, shards: 1, rowsRead: 0, pairs: model.stats.similarityPairs * 2 },
      similar,
    );
    const users = await copyRows(
      client,
      'rec_user_items',
      ['run_id', 'user_id', 'items'],
      [...model.perUser].map(([id, items]) => [runId, id, listJson(items)]),
    );
    await recordShard(client, runId, { stage: 'user-items', shard: 0, shards: 1, rowsRead: 0 }, users);
  });
}
