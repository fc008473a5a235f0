import {
  BOUGHT_BEFORE_REASON,
  SIMILAR_TO_REASON,
  type BatchModel,
  type Candidate,
  type ProductFacts,
  type RankedCandidate,
  type RepurchaseStats,
  type RepurchaseTable,
  type ScoredItem,
} from '@lambdarec/domain';
import { withTransaction, type PgClient, type PgPool } from '@lambdarec/clients';
import { copyRows } from './copy.js';

export interface PublishedRun {
  runId: string;
  publishedAt: string;
}

/** The read side of the batch view. Each call names its run, so a request never mixes two runs. */
export interface BatchViewRepository {
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

export function createBatchViewRepository({ pool }: { pool: PgPool }): BatchViewRepository {
  return {
    async publishedRun() {
      const { rows } = await pool.query<{ run_id: string; published_at: Date }>(
        'SELECT run_id, published_at FROM published_run WHERE singleton',
      );
      const row = rows[0];
      return row === undefined ? undefined : { runId: row.run_id, publishedAt: row.published_at.toISOString() };
    },

    async userItems(runId, userId) {
      const { rows } = await pool.query<{ items: StoredList }>('SELECT items FROM rec_user_items WHERE run_id = $1 AND user_id = $2', [runId, userId]);
      return rows[0] === undefined ? [] : decodeList(rows[0].items);
    },

    async similarItems(runId, productIds) {
      const similar = new Map<string, Candidate[]>();
      if (productIds.length === 0) return similar;
      const { rows } = await pool.query<{ product_id: string; items: StoredList }>(
        'SELECT product_id, items FROM rec_similar_items WHERE run_id = $1 AND product_id = ANY($2::text[])',
        [runId, productIds],
      );
      for (const row of rows) similar.set(row.product_id, decodeList(row.items));
      return similar;
    },

    async popularItems(runId) {
      const { rows } = await pool.query<{ items: StoredList }>('SELECT items FROM rec_popular_items WHERE run_id = $1', [runId]);
      return rows[0] === undefined ? [] : decodeList(rows[0].items);
    },

    async categoryPopular(runId) {
      const { rows } = await pool.query<{ category: string; items: StoredList }>('SELECT category, items FROM rec_category_popular WHERE run_id = $1', [runId]);
      return new Map(rows.map((row) => [row.category, decodeList(row.items)]));
    },

    async repurchase(runId, productIds, categories) {
      const facts: RepurchaseFacts = { products: new Map(), categories: new Map() };
      if (productIds.length === 0 && categories.length === 0) return facts;
      const { rows } = await pool.query<{ scope: 'product' | 'category'; key: string; buyers: number; rebuyers: number }>(
        `SELECT scope, key, buyers, rebuyers FROM rec_repurchase
         WHERE run_id = $1 AND ((scope = 'product' AND key = ANY($2::text[])) OR (scope = 'category' AND key = ANY($3::text[])))`,
        [runId, productIds, categories],
      );
      for (const row of rows) (row.scope === 'product' ? facts.products : facts.categories).set(row.key, { buyers: row.buyers, rebuyers: row.rebuyers });
      return facts;
    },
  };
}

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
   * comma-separated), then every product's facts once the stream has ended.
   */
  writeUserLists(
    runId: string,
    record: Omit<ShardRecord, 'rowsRead'>,
    lists: AsyncIterable<readonly [userId: string, products: string, weights: string]>,
    after: () => { facts: readonly ProductFacts[]; rowsRead: number },
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

/**
 * How the per-user and per-product lists are stored: each item as `[productId, score, category,
 * reasons]`, and the two batch reasons abbreviated (`^` bought before, `~P` similar to P). A run
 * writes 50 items for each of its users: this is about half the bytes of the items as objects,
 * which node serialises and Postgres checks, compresses and logs. Lists of the older object form
 * (runs written before) are read as they are.
 */
type StoredItem = [productId: string, score: number, category: string | null, reasons: string[]];
type StoredList = Array<StoredItem | Candidate>;

const encodeReason = (reason: string) =>
  reason === BOUGHT_BEFORE_REASON ? '^' : reason.startsWith(SIMILAR_TO_REASON) ? `~${reason.slice(SIMILAR_TO_REASON.length)}` : reason;
const decodeReason = (reason: string) => (reason === '^' ? BOUGHT_BEFORE_REASON : reason.startsWith('~') ? `${SIMILAR_TO_REASON}${reason.slice(1)}` : reason);

export const listJson = (items: readonly ScoredItem[]): string =>
  JSON.stringify(items.map((item): StoredItem => [item.productId, item.score, item.category, item.reasons.map(encodeReason)]));

/**
 * Encodes ranked per-user lists (`rankUser`) into the very text that `listJson` makes of the
 * `userRecommendations` items they stand for, without making those items: a user-items shard
 * writes 50 items for each of its users, and building objects and reason strings only to
 * abbreviate them again was a third of its time per user. The stored reasons of an item depend
 * only on its seed and whether it was bought, so each such array is made once per shard.
 */
export function createRankedListEncoder(categoryOf: ReadonlyMap<string, string | null>): (items: readonly RankedCandidate[]) => string {
  const none: string[] = [];
  const bought = [encodeReason(BOUGHT_BEFORE_REASON)];
  const similarTo = new Map<string, string[]>();
  const boughtAndSimilarTo = new Map<string, string[]>();
  const reasons = ({ bought: wasBought, because }: RankedCandidate): string[] => {
    if (because === undefined) return wasBought ? bought : none;
    const cache = wasBought ? boughtAndSimilarTo : similarTo;
    let found = cache.get(because);
    if (found === undefined) {
      const similar = encodeReason(`${SIMILAR_TO_REASON}${because}`);
      cache.set(because, (found = wasBought ? [...bought, similar] : [similar]));
    }
    return found;
  };
  return (items) => JSON.stringify(items.map((item): StoredItem => [item.productId, item.score, categoryOf.get(item.productId) ?? null, reasons(item)]));
}

export const decodeList = (stored: StoredList): Candidate[] =>
  stored.map((item) =>
    Array.isArray(item) ? { productId: item[0], score: item[1], category: item[2], reasons: item[3].map(decodeReason) } : item,
  );

async function recordShard(client: PgClient, runId: string, record: ShardRecord, rowsWritten: number) {
  await client.query(
    `INSERT INTO batch_run_shards (run_id, stage, shard, shards, rows_read, rows_written, pairs) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [runId, record.stage, record.shard, record.shards, record.rowsRead, rowsWritten, record.pairs ?? 0],
  );
}

export function createBatchViewWriter({ pool }: { pool: PgPool }): BatchViewWriter {
  return {
    async shardDone(runId, stage, shard) {
      const { rowCount } = await pool.query('SELECT 1 FROM batch_run_shards WHERE run_id = $1 AND stage = $2 AND shard = $3', [runId, stage, shard]);
      return rowCount === 1;
    },

    async writeUserLists(runId, record, lists, after) {
      return withTransaction(pool, async (client) => {
        async function* rows() {
          for await (const [userId, products, weights] of lists) yield [runId, userId, products, weights] as const;
        }
        const written = await copyRows(client, 'batch_user_lists', ['run_id', 'user_id', 'products', 'weights'], rows());
        const { facts, rowsRead } = after();
        await copyRows(
          client,
          'batch_product_facts',
          ['run_id', 'product_id', 'category', 'popularity', 'buyers', 'rebuyers'],
          facts.map((f) => [runId, f.productId, f.category, f.popularity, f.buyers, f.rebuyers]),
        );
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

    async similarItemsOf(runId) {
      const { rows } = await pool.query<{ product_id: string; items: StoredList }>('SELECT product_id, items FROM rec_similar_items WHERE run_id = $1', [runId]);
      return new Map(rows.map((row) => [row.product_id, decodeList(row.items)]));
    },

    async productFactsOf(runId) {
      const { rows } = await pool.query<{ product_id: string; category: string | null; popularity: number; buyers: number; rebuyers: number }>(
        'SELECT product_id, category, popularity, buyers, rebuyers FROM batch_product_facts WHERE run_id = $1 ORDER BY product_id',
        [runId],
      );
      return rows.map((row) => ({ productId: row.product_id, category: row.category, popularity: row.popularity, buyers: row.buyers, rebuyers: row.rebuyers }));
    },

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
      for (const row of rows) done[row.stage] = { shards: row.n, pairs: Number(row.pairs), rowsWritten: Number(row.written), covered: row.covered };
      return done;
    },
  };
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
  await copyRows(client, 'rec_category_popular', ['run_id', 'category', 'items'], [...popularByCategory].map(([category, items]) => [runId, category, listJson(items)]));
  const rows = [
    ...[...repurchase.products].map(([key, stats]) => [runId, 'product', key, stats.buyers, stats.rebuyers] as const),
    ...[...repurchase.categories].map(([key, stats]) => [runId, 'category', key, stats.buyers, stats.rebuyers] as const),
  ];
  await copyRows(client, 'rec_repurchase', ['run_id', 'scope', 'key', 'buyers', 'rebuyers'], rows);
}

/**
 * Writes a whole in-memory model as one shard of each stage (tests, benches and small tools that
 * compute a model with `computeBatchModel`); publish it with `BatchRunsRepository.publish`.
 */
export async function writeWholeModel(pool: PgPool, runId: string, model: BatchModel): Promise<void> {
  await withTransaction(pool, async (client) => {
    const similar = await copyRows(client, 'rec_similar_items', ['run_id', 'product_id', 'items'], [...model.similar].map(([id, items]) => [runId, id, listJson(items)]));
    await recordShard(client, runId, { stage: 'similar-items', shard: 0, shards: 1, rowsRead: 0, pairs: model.stats.similarityPairs * 2 }, similar);
    const users = await copyRows(client, 'rec_user_items', ['run_id', 'user_id', 'items'], [...model.perUser].map(([id, items]) => [runId, id, listJson(items)]));
    await recordShard(client, runId, { stage: 'user-items', shard: 0, shards: 1, rowsRead: 0 }, users);
  });
}
