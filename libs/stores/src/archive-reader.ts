import type { DailyReport, EventType, Watermark } from '@lambdarec/contracts';
import type { Interaction, UserHistory } from '@lambdarec/domain';
import { withTransaction, type PgClient, type PgPool } from '@lambdarec/clients';
import { copyOutChunks, uuidLiteral } from './copy.js';
import { parsePurchaseDays } from './purchase-days.js';

/** What a run's frozen input holds, and how far it goes. */
export interface RunInputSummary {
  /** Rows of the input: one per (user, product, event type). */
  rows: number;
  users: number;
  products: number;
  /** Archived events the rows sum up (within the history horizon). */
  eventsRead: number;
  /**
   * An upper bound on the (product, other product) pairs co-occurrence will count: the sum over
   * users of k·(k−1), k their distinct products capped at `maxItemsPerUser`.
   */
  pairBound: number;
  /** Events the bot guard flagged (a flagged user's, arrived within the flag), left out. */
  botEventsExcluded?: number;
  /** Flagged users' days left out: plans frozen before flags named bursts, not days. */
  botUserDaysExcluded?: number;
  /** The input's events by type. */
  eventsByType: DailyReport['eventsByType'];
  /** The day of the newest event, as the shop saw it; undefined for an empty archive. */
  report?: DailyReport;
  watermark: Watermark;
}

/** How many products and categories the daily report lists. */
export const REPORT_TOP_N = 10;

const countsByType = (rows: ReadonlyArray<{ type: string; n: string }>): DailyReport['eventsByType'] => {
  const counts = { view: 0, click: 0, add_to_cart: 0, purchase: 0 };
  for (const row of rows) if (row.type in counts) counts[row.type as EventType] = Number(row.n);
  return counts;
};

/**
 * The daily report of `day`, read from the daily aggregates in the run's snapshot: the shop's own
 * catalog names a product's category where it knows one, as serving does.
 */
async function dailyReport(client: PgClient, day: string): Promise<DailyReport> {
  const byType = await client.query<{ type: string; n: string }>('SELECT type, sum(n) AS n FROM event_daily WHERE day = $1 GROUP BY type', [
    day,
  ]);
  // One join against the earlier days' users, not a lookup per user of the day: no index leads
  // with user_id, so the correlated NOT EXISTS of before scanned event_daily once for each of them
  // (the freeze had become quadratic, ADR 008; the same counts).
  const users = await client.query<{ active: string; new: string }>(
    `SELECT count(*) AS active, count(*) - count(earlier.user_id) AS new
     FROM (SELECT DISTINCT user_id FROM event_daily WHERE day = $1) AS today
     LEFT JOIN (SELECT DISTINCT user_id FROM event_daily WHERE day < $1) AS earlier USING (user_id)`,
    [day],
  );
  const products = await client.query<{ product_id: string; category: string | null; events: string; purchases: string }>(
    `SELECT d.product_id, coalesce(p.category, max(d.category)) AS category, sum(d.n) AS events,
            coalesce(sum(d.n) FILTER (WHERE d.type = 'purchase'), 0) AS purchases
     FROM event_daily d LEFT JOIN products p ON p.product_id = d.product_id
     WHERE d.day = $1
     GROUP BY d.product_id, p.category
     ORDER BY events DESC, d.product_id LIMIT ${REPORT_TOP_N}`,
    [day],
  );
  const categories = await client.query<{ category: string; events: string; purchases: string }>(
    `SELECT category, sum(n) AS events, coalesce(sum(n) FILTER (WHERE type = 'purchase'), 0) AS purchases
     FROM (SELECT coalesce(p.category, d.category) AS category, d.n, d.type
           FROM event_daily d LEFT JOIN products p ON p.product_id = d.product_id WHERE d.day = $1) AS named
     WHERE category IS NOT NULL
     GROUP BY category ORDER BY events DESC, category LIMIT ${REPORT_TOP_N}`,
    [day],
  );
  const active = Number(users.rows[0]?.active ?? 0);
  const fresh = Number(users.rows[0]?.new ?? 0);
  return {
    day,
    eventsByType: countsByType(byType.rows),
    users: { active, new: fresh, returning: active - fresh },
    topProducts: products.rows.map((r) => ({
      productId: r.product_id,
      category: r.category,
      events: Number(r.events),
      purchases: Number(r.purchases),
    })),
    topCategories: categories.rows.map((r) => ({ category: r.category, events: Number(r.events), purchases: Number(r.purchases) })),
  };
}

/** How many user buckets there are; a per-user shard takes the buckets congruent to its number. */
export const USER_BUCKETS = 4096;

/** The batch layer's reads of the event archive. */
export interface ArchiveReader {
  /**
   * Freezes a run's input: the daily aggregate within `historyDays` before the newest event (never
   * later than `now`), summed per (user, product, type), with the archive's offsets, in one
   * snapshot. The events of the bot guard's flags (`bot_flags`: a user's events that arrived within
   * a flag's interval) are left out, and nothing else of the user's. Doing it again replaces the
   * run's input (a run resumed after a crash).
   */
  freezeInput(runId: string, options: { historyDays: number; maxItemsPerUser: number; now: number }): Promise<RunInputSummary>;
  /** The products of a run's input, in name order (the numbering co-occurrence shards share). */
  products(runId: string): Promise<string[]>;
  /**
   * Streams a run's input one user at a time, users in name order; with `shard`, only the users
   * whose bucket is congruent to it modulo `shards`.
   */
  users(runId: string, shard?: { shard: number; shards: number }): AsyncGenerator<UserHistory>;
  /**
   * Streams a run's per-user co-occurrence lists (written by its user-lists step), users in name
   * order, as product numbers and weights.
   */
  userLists(runId: string): AsyncGenerator<{ products: number[]; weights: number[] }>;
  /** Streams every user's re-buy vector (written by its user-lists step) as product numbers and weights. */
  rebuyVectors(runId: string): AsyncGenerator<{ userId: string; products: number[]; weights: number[] }>;
  /** How many user lists a run holds now (fewer than written: Postgres lost them in a crash). */
  userListCount(runId: string): Promise<number>;
  /** How many rows a run's frozen input holds now (fewer than frozen: Postgres lost it in a crash). */
  inputRows(runId: string): Promise<number>;
  /** Deletes a run's frozen input and user lists (the run has ended). */
  dropInput(runId: string): Promise<void>;
}

export function createArchiveReader({ pool }: { pool: PgPool }): ArchiveReader {
  return {
    async freezeInput(runId, { historyDays, maxItemsPerUser, now }) {
      return withTransaction(
        pool,
        async (client) => {
          const offsets = await client.query<{ topic: string; partition: number; next_offset: string }>(
            'SELECT topic, partition, next_offset FROM archive_offsets ORDER BY topic, partition',
          );
          const watermarkOffsets: Watermark['offsets'] = {};
          for (const row of offsets.rows) (watermarkOffsets[row.topic] ??= {})[String(row.partition)] = String(row.next_offset);
          // The newest event: from the newest day (the primary key starts with the day).
          const newest = await client.query<{ max_time: Date | null }>(
            'SELECT max(last_at) AS max_time FROM event_daily WHERE day = (SELECT max(day) FROM event_daily)',
          );
          const maxEventTime = newest.rows[0]?.max_time ?? null;
          // The horizon counts back from the run's own clock (the newest event), so a shop's
          // imported history is read the same way whenever the run happens.
          const asOf = maxEventTime === null ? now : Math.min(maxEventTime.getTime(), now);
          const horizon = new Date(asOf - historyDays * 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
          await client.query('DELETE FROM batch_input WHERE run_id = $1', [runId]);
          // Grouping a year of daily rows sorts millions of them: in memory, not in temporary
          // files (a run is one query at a time; the setting ends with the transaction).
          await client.query("SET LOCAL work_mem = '256MB'");
          // The flagged bursts' events within the horizon: each flag's user's events that arrived
          // within it (once, however many flags overlap), found through the partial index on
          // (user_id, arrived_at). Bursts are short and flags rare, so this stays small.
          await client.query(
            `CREATE TEMP TABLE bot_events (event_id uuid, day date, user_id text COLLATE "C", product_id text COLLATE "C", type text)
             ON COMMIT DROP`,
          );
          const botEvents = await client.query(
            `INSERT INTO bot_events
             SELECT DISTINCT e.event_id, (e.event_time AT TIME ZONE 'UTC')::date, e.user_id, e.product_id, e.type
             FROM bot_flags f JOIN events e ON e.user_id = f.user_id AND e.arrived_at BETWEEN f.from_at AND f.until_at
             WHERE (e.event_time AT TIME ZONE 'UTC')::date >= $1::date`,
            [horizon],
          );
          await client.query('ANALYZE bot_events');
          const dailyRows = 'SELECT day, user_id, product_id, type, n, last_at, category FROM event_daily d WHERE day >= $2::date';
          // Without bursts, the aggregate as it is: an anti-join against an empty table is planned
          // as a nested loop, a probe for every daily row.
          // With them, the (day, user, product, type) rows a burst touched are summed again from
          // the raw events without the burst's, so the user's other events of that day count, with
          // their own latest time and category (a burst's client-set event time must not make the
          // user's interest look recent).
          const kept =
            botEvents.rowCount === 0
              ? dailyRows
              : `${dailyRows}
                   AND NOT EXISTS (SELECT 1 FROM bot_events b
                                   WHERE b.day = d.day AND b.user_id = d.user_id AND b.product_id = d.product_id AND b.type = d.type)
                 UNION ALL
                 SELECT t.day, t.user_id, t.product_id, t.type, count(*), max(e.event_time),
                        (array_agg(e.category ORDER BY e.event_time DESC) FILTER (WHERE e.category IS NOT NULL))[1]
                 FROM (SELECT DISTINCT day, user_id, product_id, type FROM bot_events) AS t
                 JOIN events e ON e.user_id = t.user_id COLLATE "default" AND e.product_id = t.product_id COLLATE "default" AND e.type = t.type
                   AND e.event_time >= t.day::timestamp AT TIME ZONE 'UTC' AND e.event_time < (t.day + 1)::timestamp AT TIME ZONE 'UTC'
                 WHERE NOT EXISTS (SELECT 1 FROM bot_events b WHERE b.event_id = e.event_id)
                 GROUP BY t.day, t.user_id, t.product_id, t.type`;
          // A purchase row keeps its days (the re-buy vector's baskets); the other types need none.
          // `kept` has one row per (day, user, product, type), so the days are distinct already, and
          // `users` sorts them (`parsePurchaseDays`).
          await client.query(
            `INSERT INTO batch_input (run_id, user_id, product_id, type, n, last_at, category, bucket, purchase_days)
             SELECT $1, user_id, product_id, type, sum(n), max(last_at),
                    mode() WITHIN GROUP (ORDER BY category), hashtext(user_id) & ${USER_BUCKETS - 1},
                    array_agg(day - DATE '1970-01-01') FILTER (WHERE type = 'purchase')
             FROM (${kept}) AS kept
             GROUP BY user_id, product_id, type
             ORDER BY user_id, product_id, type`,
            [runId, horizon],
          );
          const totals = await client.query<{ rows: string; products: string; events: string | null }>(
            'SELECT count(*) AS rows, count(DISTINCT product_id) AS products, sum(n) AS events FROM batch_input WHERE run_id = $1',
            [runId],
          );
          const perUser = await client.query<{ users: string; pair_bound: string | null }>(
            `SELECT count(*) AS users, sum(least(k, $2::bigint) * (least(k, $2::bigint) - 1)) AS pair_bound
             FROM (SELECT count(DISTINCT product_id) AS k FROM batch_input WHERE run_id = $1 GROUP BY user_id) AS per_user`,
            [runId, maxItemsPerUser],
          );
          const summary = { ...totals.rows[0]!, ...perUser.rows[0]! };
          const byType = await client.query<{ type: string; n: string }>(
            'SELECT type, sum(n) AS n FROM batch_input WHERE run_id = $1 GROUP BY type',
            [runId],
          );
          const report = maxEventTime === null ? undefined : await dailyReport(client, maxEventTime.toISOString().slice(0, 10));
          return {
            eventsByType: countsByType(byType.rows),
            report,
            rows: Number(summary.rows),
            users: Number(summary.users),
            products: Number(summary.products),
            eventsRead: Number(summary.events ?? 0),
            pairBound: Number(summary.pair_bound ?? 0),
            botEventsExcluded: botEvents.rowCount ?? 0,
            watermark: { maxEventTime: maxEventTime?.toISOString() ?? null, offsets: watermarkOffsets },
          };
        },
        'REPEATABLE READ',
      );
    },

    async products(runId) {
      const { rows } = await pool.query<{ product_id: string }>('SELECT DISTINCT product_id FROM batch_input WHERE run_id = $1', [runId]);
      return rows.map((row) => row.product_id).sort();
    },

    async *users(runId, shard) {
      const only = shard === undefined ? '' : ` AND bucket % ${Math.trunc(shard.shards)} = ${Math.trunc(shard.shard)}`;
      let current: UserHistory | undefined;
      for await (const chunk of copyOutChunks(
        pool,
        `SELECT user_id, product_id, type, n, (extract(epoch FROM last_at) * 1000)::bigint, category, purchase_days
         FROM batch_input WHERE run_id = ${uuidLiteral(runId)}${only}
         ORDER BY user_id, product_id, type`,
      )) {
        for (const [userId, productId, type, n, lastAt, category, purchaseDays] of chunk) {
          const row: Interaction = {
            userId: userId!,
            productId: productId!,
            type: type as EventType,
            count: Number(n),
            lastAt: Number(lastAt),
            category: category ?? null,
            purchaseDays: parsePurchaseDays(purchaseDays),
          };
          if (current?.userId !== row.userId) {
            if (current !== undefined) yield current;
            current = { userId: row.userId, rows: [] };
          }
          current.rows.push(row);
        }
      }
      if (current !== undefined) yield current;
    },

    async *rebuyVectors(runId) {
      for await (const chunk of copyOutChunks(
        pool,
        `SELECT user_id, rebuy_products, rebuy_weights FROM batch_user_lists
         WHERE run_id = ${uuidLiteral(runId)} AND rebuy_products <> '' ORDER BY user_id`,
      )) {
        for (const [userId, products, weights] of chunk)
          yield { userId: userId!, products: numberList(products!), weights: numberList(weights!) };
      }
    },

    async *userLists(runId) {
      for await (const chunk of copyOutChunks(
        pool,
        `SELECT products, weights FROM batch_user_lists WHERE run_id = ${uuidLiteral(runId)} ORDER BY user_id`,
      )) {
        for (const [products, weights] of chunk) yield { products: numberList(products!), weights: numberList(weights!) };
      }
    },

    async userListCount(runId) {
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM batch_user_lists WHERE run_id = $1', [runId]);
      return Number(rows[0]!.n);
    },

    async inputRows(runId) {
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM batch_input WHERE run_id = $1', [runId]);
      return Number(rows[0]!.n);
    },

    async dropInput(runId) {
      await pool.query('DELETE FROM batch_input WHERE run_id = $1', [runId]);
      await pool.query('DELETE FROM batch_user_lists WHERE run_id = $1', [runId]);
    },
  };
}

/** A comma list of numbers as the user-lists stage writes them; '' is none. */
const numberList = (text: string): number[] => (text === '' ? [] : text.split(',').map(Number));
