import type { BatchRun, EventType, RunStats, RunStatus, Watermark } from '@lambdarec/contracts';
import type { BatchModel, Interaction, ScoredItem } from '@lambdarec/domain';
import { withTransaction, type PgPool } from '@lambdarec/clients';

interface RunRow {
  run_id: string;
  status: RunStatus;
  trigger: string;
  job_id: string | null;
  published: boolean;
  started_at: Date | null;
  finished_at: Date | null;
  stats: RunStats;
  watermark: Watermark | null;
}

const toRun = (row: RunRow): BatchRun => ({
  runId: row.run_id,
  status: row.status,
  published: row.published,
  trigger: row.trigger,
  startedAt: row.started_at?.toISOString() ?? null,
  finishedAt: row.finished_at?.toISOString() ?? null,
  stats: row.stats,
  watermark: row.watermark,
});

const RUN_COLUMNS = 'run_id, status, trigger, job_id, published, started_at, finished_at, stats, watermark';

export type CreateRunResult = { created: true } | { created: false; activeRunId: string };

/** What a run read: interactions aggregated per (user, product, type) and how far they go. */
export interface RunInput {
  interactions: Interaction[];
  eventsRead: number;
  watermark: Watermark;
}

export interface BatchRunsRepository {
  /** Records a queued run, unless one is queued or running already (then its id). */
  create(run: { runId: string; trigger: string; jobId?: string | undefined }): Promise<CreateRunResult>;
  /** The run a BullMQ job created, if any (a stalled job is processed again). */
  findByJobId(jobId: string): Promise<{ runId: string; status: RunStatus } | undefined>;
  /** Marks a queued (or resumed running) run running; false if it is no longer active. */
  markRunning(runId: string): Promise<boolean>;
  markFailed(runId: string, error: string): Promise<void>;
  /** Reads the master dataset in one snapshot, so events and offsets agree. */
  readInput(): Promise<RunInput>;
  /** Writes the model and makes it the published run in one transaction: all of it or nothing. */
  publish(runId: string, model: BatchModel, stats: RunStats, watermark: Watermark): Promise<void>;
  get(runId: string): Promise<BatchRun | undefined>;
  list(limit?: number): Promise<BatchRun[]>;
  /** Runs queued or running, with the BullMQ job that carries them and when they were recorded. */
  active(): Promise<Array<{ runId: string; jobId: string | null; status: RunStatus; createdAt: Date }>>;
  /** Deletes the data of unpublished runs and of all but the newest `keep` published ones. */
  prune(keep: number): Promise<number>;
}

export function createBatchRunsRepository({ pool }: { pool: PgPool }): BatchRunsRepository {
  return {
    async create({ runId, trigger, jobId }) {
      // The active run may finish between the refused insert and the look-up: then try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await pool.query('INSERT INTO batch_runs (run_id, status, trigger, job_id) VALUES ($1, $2, $3, $4)', [
            runId,
            'queued',
            trigger,
            jobId ?? null,
          ]);
          return { created: true };
        } catch (err) {
          if ((err as { code?: string }).code !== '23505' || (err as { constraint?: string }).constraint !== 'batch_runs_one_active_idx') {
            throw err;
          }
          const { rows } = await pool.query<{ run_id: string }>(
            "SELECT run_id FROM batch_runs WHERE status IN ('queued', 'running') LIMIT 1",
          );
          const activeRunId = rows[0]?.run_id;
          if (activeRunId !== undefined) return { created: false, activeRunId };
          if (attempt >= 3) throw err;
        }
      }
    },

    async findByJobId(jobId) {
      const { rows } = await pool.query<{ run_id: string; status: RunStatus }>(
        'SELECT run_id, status FROM batch_runs WHERE job_id = $1 ORDER BY created_at DESC LIMIT 1',
        [jobId],
      );
      return rows[0] === undefined ? undefined : { runId: rows[0].run_id, status: rows[0].status };
    },

    async markRunning(runId) {
      const { rowCount } = await pool.query(
        `UPDATE batch_runs SET status = 'running', started_at = COALESCE(started_at, now())
         WHERE run_id = $1 AND status IN ('queued', 'running')`,
        [runId],
      );
      return rowCount === 1;
    },

    async markFailed(runId, error) {
      await pool.query(
        `UPDATE batch_runs SET status = 'failed', finished_at = now(), stats = stats || jsonb_build_object('error', $2::text)
         WHERE run_id = $1 AND status <> 'succeeded'`,
        [runId, error],
      );
    },

    async readInput() {
      return withTransaction(
        pool,
        async (client) => {
          const offsets = await client.query<{ topic: string; partition: number; next_offset: number }>(
            'SELECT topic, partition, next_offset FROM archive_offsets ORDER BY topic, partition',
          );
          const watermarkOffsets: Watermark['offsets'] = {};
          for (const row of offsets.rows) {
            (watermarkOffsets[row.topic] ??= {})[String(row.partition)] = String(row.next_offset);
          }
          const { rows } = await client.query<{
            user_id: string;
            product_id: string;
            type: EventType;
            n: number;
            last_at: Date;
            category: string | null;
          }>(
            `SELECT user_id, product_id, type, count(*)::int AS n, max(event_time) AS last_at,
                    mode() WITHIN GROUP (ORDER BY category) AS category
             FROM events GROUP BY user_id, product_id, type`,
          );
          const totals = await client.query<{ n: number; max_time: Date | null }>(
            'SELECT count(*)::int AS n, max(event_time) AS max_time FROM events',
          );
          const interactions: Interaction[] = rows.map((row) => ({
            userId: row.user_id,
            productId: row.product_id,
            type: row.type,
            count: row.n,
            lastAt: row.last_at.getTime(),
            category: row.category,
          }));
          return {
            interactions,
            eventsRead: totals.rows[0]?.n ?? 0,
            watermark: { maxEventTime: totals.rows[0]?.max_time?.toISOString() ?? null, offsets: watermarkOffsets },
          };
        },
        'REPEATABLE READ',
      );
    },

    async publish(runId, model, stats, watermark) {
      const strip = (items: readonly ScoredItem[]) =>
        items.map(({ productId, score, category, reasons }) => ({ productId, score, category, reasons }));
      await withTransaction(pool, async (client) => {
        const users = [...model.perUser.entries()];
        for (let i = 0; i < users.length; i += 1000) {
          const chunk = users.slice(i, i + 1000);
          await client.query(
            'INSERT INTO rec_user_items (run_id, user_id, items) SELECT $1, * FROM unnest($2::text[], $3::jsonb[])',
            [runId, chunk.map(([userId]) => userId), chunk.map(([, items]) => JSON.stringify(strip(items)))],
          );
        }
        const similar = [...model.similar.entries()];
        for (let i = 0; i < similar.length; i += 1000) {
          const chunk = similar.slice(i, i + 1000);
          await client.query(
            'INSERT INTO rec_similar_items (run_id, product_id, items) SELECT $1, * FROM unnest($2::text[], $3::jsonb[])',
            [runId, chunk.map(([productId]) => productId), chunk.map(([, items]) => JSON.stringify(strip(items)))],
          );
        }
        await client.query('INSERT INTO rec_popular_items (run_id, items) VALUES ($1, $2)', [runId, JSON.stringify(strip(model.popular))]);
        const repurchase = [
          ...[...model.repurchase.products].map(([key, stats]) => ['product', key, stats] as const),
          ...[...model.repurchase.categories].map(([key, stats]) => ['category', key, stats] as const),
        ];
        for (let i = 0; i < repurchase.length; i += 5000) {
          const chunk = repurchase.slice(i, i + 5000);
          await client.query(
            'INSERT INTO rec_repurchase (run_id, scope, key, buyers, rebuyers) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::int[])',
            [runId, chunk.map(([scope]) => scope), chunk.map(([, key]) => key), chunk.map(([, , s]) => s.buyers), chunk.map(([, , s]) => s.rebuyers)],
          );
        }
        const updated = await client.query(
          `UPDATE batch_runs SET status = 'succeeded', published = true, finished_at = now(), stats = $2, watermark = $3
           WHERE run_id = $1 AND status = 'running'`,
          [runId, JSON.stringify(stats), JSON.stringify(watermark)],
        );
        if (updated.rowCount !== 1) throw new Error(`run ${runId} is no longer running; not publishing it`);
        await client.query(
          `INSERT INTO published_run (singleton, run_id, published_at) VALUES (true, $1, now())
           ON CONFLICT (singleton) DO UPDATE SET run_id = EXCLUDED.run_id, published_at = EXCLUDED.published_at`,
          [runId],
        );
      });
    },

    async get(runId) {
      const { rows } = await pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM batch_runs WHERE run_id = $1`, [runId]);
      return rows[0] === undefined ? undefined : toRun(rows[0]);
    },

    async list(limit = 50) {
      const { rows } = await pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM batch_runs ORDER BY created_at DESC LIMIT $1`, [limit]);
      return rows.map(toRun);
    },

    async active() {
      const { rows } = await pool.query<RunRow & { created_at: Date }>(
        `SELECT ${RUN_COLUMNS}, created_at FROM batch_runs WHERE status IN ('queued', 'running')`,
      );
      return rows.map((row) => ({ runId: row.run_id, jobId: row.job_id, status: row.status, createdAt: row.created_at }));
    },

    async prune(keep) {
      return withTransaction(pool, async (client) => {
        const { rows } = await client.query<{ run_id: string }>(
          `SELECT run_id FROM batch_runs
           WHERE status IN ('succeeded', 'failed')
             AND run_id NOT IN (SELECT run_id FROM published_run)
             AND run_id NOT IN (SELECT run_id FROM batch_runs WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT $1)`,
          [keep],
        );
        const doomed = rows.map((row) => row.run_id);
        if (doomed.length === 0) return 0;
        for (const table of ['rec_user_items', 'rec_similar_items', 'rec_popular_items', 'rec_repurchase']) {
          await client.query(`DELETE FROM ${table} WHERE run_id = ANY($1::uuid[])`, [doomed]);
        }
        return doomed.length;
      });
    },
  };
}
