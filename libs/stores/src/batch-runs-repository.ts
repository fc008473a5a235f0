import type { BatchRun, RunProgress, RunStats, RunStatus, Watermark } from '@lambdarec/contracts';
import type { RepurchaseTable, ScoredItem } from '@lambdarec/domain';
import { withTransaction, type PgPool } from '@lambdarec/clients';
import { writeRunWideRows } from './batch-view-writer.js';

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
  progress: RunProgress | null;
}

const toRun = (row: RunRow): BatchRun => ({
  runId: row.run_id,
  status: row.status,
  published: row.published,
  trigger: row.trigger,
  startedAt: row.started_at?.toISOString() ?? null,
  finishedAt: row.finished_at?.toISOString() ?? null,
  progress: row.progress,
  stats: row.stats,
  watermark: row.watermark,
});

// `published` is whether the run is the one served now (a rollback moves it); shardsDone is counted
// from the shards' own records, so it is exact whichever process finished them.
const RUN_COLUMNS = `r.run_id, r.status, r.trigger, r.job_id, r.started_at, r.finished_at, r.stats, r.watermark,
  r.run_id IN (SELECT run_id FROM published_run) AS published,
  CASE WHEN r.progress IS NULL THEN NULL ELSE r.progress || jsonb_build_object('shardsDone',
    (SELECT count(*) FROM batch_run_shards s WHERE s.run_id = r.run_id AND s.stage = r.progress->>'phase')) END AS progress`;

export type CreateRunResult = { created: true } | { created: false; activeRunId: string };

/** What publishing a run writes besides the shards' rows, and what it checks. */
export interface RunOutcome {
  stats: RunStats;
  watermark: Watermark;
  popular: readonly ScoredItem[];
  /** category → its most popular products (older callers may leave it out). */
  popularByCategory?: ReadonlyMap<string, readonly ScoredItem[]>;
  repurchase: RepurchaseTable;
  /** Shards per stage the run was cut into: publishing refuses if any of them has not finished. */
  shards: { similarItems: number; userItems: number };
}

export type PublishKeptResult =
  { published: true; runId: string } | { published: false; reason: 'not-found' | 'not-succeeded' | 'pruned'; status?: RunStatus };

export interface BatchRunsRepository {
  /** Records a queued run, unless one is queued or running already (then its id). */
  create(run: { runId: string; trigger: string; jobId?: string | undefined }): Promise<CreateRunResult>;
  /** The run a BullMQ job created, if any (a stalled job is processed again). */
  findByJobId(jobId: string): Promise<{ runId: string; status: RunStatus } | undefined>;
  /** Marks a queued (or resumed running) run running; false if it is no longer active. */
  markRunning(runId: string): Promise<boolean>;
  markFailed(runId: string, error: string): Promise<void>;
  /** Where the run is; stats merge into the run's stats (e.g. a phase's time). */
  setProgress(runId: string, progress: Omit<RunProgress, 'shardsDone'>, stats?: RunStats): Promise<void>;
  /** The run's status, if it exists. */
  status(runId: string): Promise<RunStatus | undefined>;
  /**
   * Writes the run-wide rows and makes the run the published one in one transaction, after
   * checking that every shard of it finished: all of it or nothing, never a mix.
   */
  publish(runId: string, outcome: RunOutcome): Promise<void>;
  /** Publishes a kept, succeeded run again (rollback), atomically. */
  publishKept(runId: string): Promise<PublishKeptResult>;
  get(runId: string): Promise<BatchRun | undefined>;
  list(limit?: number): Promise<BatchRun[]>;
  /** Runs queued or running, with the BullMQ job that carries them and when they were recorded. */
  active(): Promise<Array<{ runId: string; jobId: string | null; status: RunStatus; createdAt: Date }>>;
  /**
   * Deletes the view rows of all but the newest `keep` succeeded runs (never the published one),
   * and of failed runs, and the work rows of every ended run. Returns how many runs were pruned.
   */
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
        `UPDATE batch_runs SET status = 'failed', finished_at = now(), stats = stats || jsonb_build_object('error', $2::text),
                progress = COALESCE(progress, '{"shardsTotal": 0}'::jsonb) || '{"phase": "failed"}'::jsonb
         WHERE run_id = $1 AND status <> 'succeeded'`,
        [runId, error],
      );
    },

    async setProgress(runId, progress, stats) {
      await pool.query(
        `UPDATE batch_runs SET progress = $2, stats = stats || $3::jsonb WHERE run_id = $1 AND status IN ('queued', 'running')`,
        [runId, JSON.stringify(progress), JSON.stringify(stats ?? {})],
      );
    },

    async status(runId) {
      const { rows } = await pool.query<{ status: RunStatus }>('SELECT status FROM batch_runs WHERE run_id = $1', [runId]);
      return rows[0]?.status;
    },

    async publish(runId, { stats, watermark, popular, popularByCategory = new Map(), repurchase, shards }) {
      await withTransaction(pool, async (client) => {
        const done = await client.query<{ stage: string; n: number }>(
          'SELECT stage, count(*)::int AS n FROM batch_run_shards WHERE run_id = $1 GROUP BY stage',
          [runId],
        );
        const count = (stage: string) => done.rows.find((row) => row.stage === stage)?.n ?? 0;
        if (count('similar-items') !== shards.similarItems || count('user-items') !== shards.userItems) {
          throw new Error(
            `run ${runId} is missing shards (similar items ${count('similar-items')}/${shards.similarItems}, ` +
              `user items ${count('user-items')}/${shards.userItems}); not publishing it`,
          );
        }
        await writeRunWideRows(client, runId, popular, repurchase, popularByCategory);
        const updated = await client.query(
          `UPDATE batch_runs SET status = 'succeeded', published = true, finished_at = now(), stats = stats || $2::jsonb, watermark = $3,
                  progress = jsonb_build_object('phase', 'done', 'shardsTotal', 0)
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

    async publishKept(runId) {
      return withTransaction(pool, async (client): Promise<PublishKeptResult> => {
        // Pruning takes the same lock first: a run is either pruned or published again, never both.
        await client.query('SELECT run_id FROM published_run FOR UPDATE');
        const { rows } = await client.query<{ status: RunStatus; pruned_at: Date | null }>(
          'SELECT status, pruned_at FROM batch_runs WHERE run_id = $1 FOR UPDATE',
          [runId],
        );
        const run = rows[0];
        if (run === undefined) return { published: false, reason: 'not-found' };
        if (run.status !== 'succeeded') return { published: false, reason: 'not-succeeded', status: run.status };
        if (run.pruned_at !== null) return { published: false, reason: 'pruned' };
        await client.query(
          `INSERT INTO published_run (singleton, run_id, published_at) VALUES (true, $1, now())
           ON CONFLICT (singleton) DO UPDATE SET run_id = EXCLUDED.run_id, published_at = EXCLUDED.published_at`,
          [runId],
        );
        return { published: true, runId };
      });
    },

    async get(runId) {
      const { rows } = await pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM batch_runs r WHERE r.run_id = $1`, [runId]);
      return rows[0] === undefined ? undefined : toRun(rows[0]);
    },

    async list(limit = 50) {
      const { rows } = await pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM batch_runs r ORDER BY r.created_at DESC LIMIT $1`, [limit]);
      return rows.map(toRun);
    },

    async active() {
      const { rows } = await pool.query<{ run_id: string; job_id: string | null; status: RunStatus; created_at: Date }>(
        `SELECT run_id, job_id, status, created_at FROM batch_runs WHERE status IN ('queued', 'running')`,
      );
      return rows.map((row) => ({ runId: row.run_id, jobId: row.job_id, status: row.status, createdAt: row.created_at }));
    },

    async prune(keep) {
      return withTransaction(pool, async (client) => {
        await client.query('SELECT run_id FROM published_run FOR UPDATE');
        const { rows } = await client.query<{ run_id: string }>(
          `SELECT run_id FROM batch_runs
           WHERE status IN ('succeeded', 'failed') AND pruned_at IS NULL
             AND run_id NOT IN (SELECT run_id FROM published_run)
             AND run_id NOT IN (SELECT run_id FROM batch_runs WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT $1)
           FOR UPDATE`,
          [keep],
        );
        const doomed = rows.map((row) => row.run_id);
        for (const table of [
          'rec_user_items',
          'rec_similar_items',
          'rec_popular_items',
          'rec_category_popular',
          'rec_repurchase',
          'rec_user_history',
          'batch_product_facts',
          'batch_run_shards',
        ]) {
          if (doomed.length > 0) await client.query(`DELETE FROM ${table} WHERE run_id = ANY($1::uuid[])`, [doomed]);
        }
        await client.query('UPDATE batch_runs SET pruned_at = now() WHERE run_id = ANY($1::uuid[])', [doomed]);
        // Work rows are only needed while a run is running. A succeeded run keeps its product
        // facts until it is pruned: serving re-ranks with them (ADR 017); a failed run is never served.
        for (const table of ['batch_input', 'batch_user_lists']) {
          await client.query(
            `DELETE FROM ${table} WHERE run_id IN (SELECT run_id FROM batch_runs WHERE status IN ('succeeded', 'failed'))`,
          );
        }
        for (const table of ['batch_product_facts', 'rec_user_history']) {
          await client.query(`DELETE FROM ${table} WHERE run_id IN (SELECT run_id FROM batch_runs WHERE status = 'failed')`);
        }
        return doomed.length;
      });
    },
  };
}
