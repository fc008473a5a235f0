import { withTransaction, type PgPool } from '@lambdarec/clients';
import type { BotFlagInterval } from './bot-flag-ledger.js';
import { copyRows } from './copy.js';

/**
 * The bot guard's flags in Postgres, for as long as runs read history: the speed layer's ledger in
 * Redis keeps a few days of them. A run freezes its input against this table in SQL.
 */
export interface BotFlagHistory {
  /**
   * Copies flags, a page at a time, in one transaction: a flag is its user and start, so one
   * recorded before keeps its row and takes a later end. Answers how many were new or extended.
   */
  record(pages: AsyncIterable<readonly BotFlagInterval[]>): Promise<number>;
  /** Forgets flags that ended before `before` (epoch ms); answers how many. */
  prune(before: number): Promise<number>;
}

export function createBotFlagHistory({ pool }: { pool: PgPool }): BotFlagHistory {
  return {
    async record(pages) {
      return withTransaction(pool, async (client) => {
        // COPY into a staging table, then one upsert: a page is a COPY stream, never a parameter
        // array, and the ledger's few days come again every run.
        await client.query('CREATE TEMP TABLE bot_flags_staging (LIKE bot_flags) ON COMMIT DROP');
        async function* rows() {
          for await (const page of pages) {
            for (const flag of page)
              yield [flag.userId, new Date(flag.from).toISOString(), new Date(flag.until).toISOString(), flag.reason] as const;
          }
        }
        await copyRows(client, 'bot_flags_staging', ['user_id', 'from_at', 'until_at', 'reason'], rows());
        const inserted = await client.query(
          `INSERT INTO bot_flags AS f (user_id, from_at, until_at, reason)
           -- The ledger may answer a flag twice (extended while it was read): its latest end, once.
           SELECT DISTINCT ON (user_id, from_at) user_id, from_at, until_at, reason FROM bot_flags_staging
           -- A malformed flag is skipped, not a check violation that would fail every run.
           WHERE until_at >= from_at
           ORDER BY user_id, from_at, until_at DESC
           ON CONFLICT (user_id, from_at) DO UPDATE SET until_at = EXCLUDED.until_at, reason = EXCLUDED.reason
             WHERE f.until_at < EXCLUDED.until_at`,
        );
        return inserted.rowCount ?? 0;
      });
    },

    async prune(before) {
      const deleted = await pool.query('DELETE FROM bot_flags WHERE until_at < $1', [new Date(before).toISOString()]);
      return deleted.rowCount ?? 0;
    },
  };
}
