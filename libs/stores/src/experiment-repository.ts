import { ERROR_CODES, LrecError, type Experiment, type ExperimentDefinition } from '@lambdarec/contracts';
import { withTransaction, type PgPool } from '@lambdarec/clients';
import { MAX_EXPERIMENT_TAG } from '@lambdarec/domain';
import type { DatabaseError } from 'pg';

/** Experiments (docs/design.md, "Closing the loop"): at most one running, and a started one's design is frozen. */
export interface ExperimentRepository {
  /**
   * Creates the experiment or updates it, and answers it as stored. Throws a `409` LrecError when
   * another experiment is running and this one would run too (EXPERIMENT_ALREADY_RUNNING), or when
   * it has started and the definition changes its mode or variants (EXPERIMENT_FROZEN): the same
   * definition with another status stops or starts it. A new experiment once every tag has been
   * drawn is a `409` too (EXPERIMENT_TAGS_USED_UP).
   */
  put(experimentId: string, definition: ExperimentDefinition): Promise<Experiment>;
  /** Every experiment, the newest first. */
  list(): Promise<Experiment[]>;
  get(experimentId: string): Promise<Experiment | undefined>;
  /** The running experiment: one index lookup, since serving asks every couple of seconds. */
  running(): Promise<Experiment | undefined>;
}

interface ExperimentRow {
  experiment_id: string;
  tag: number;
  mode: Experiment['mode'];
  status: Experiment['status'];
  variants: Experiment['variants'];
  created_at: Date;
  started_at: Date | null;
  stopped_at: Date | null;
}

const COLUMNS = 'experiment_id, tag, mode, status, variants, created_at, started_at, stopped_at';

const experimentOf = (row: ExperimentRow): Experiment => ({
  experimentId: row.experiment_id,
  mode: row.mode,
  status: row.status,
  variants: row.variants,
  tag: row.tag,
  createdAt: row.created_at.toISOString(),
  startedAt: row.started_at?.toISOString() ?? null,
  stoppedAt: row.stopped_at?.toISOString() ?? null,
});

const UNIQUE_VIOLATION = '23505';
/** nextval past the sequence's MAXVALUE. */
const SEQUENCE_LIMIT_EXCEEDED = '2200H';
const ONE_RUNNING_INDEX = 'experiments_one_running_idx';

export function createExperimentRepository({ pool }: { pool: PgPool }): ExperimentRepository {
  async function running(): Promise<Experiment | undefined> {
    const { rows } = await pool.query<ExperimentRow>(`SELECT ${COLUMNS} FROM experiments WHERE status = 'running'`);
    return rows[0] === undefined ? undefined : experimentOf(rows[0]);
  }

  return {
    async put(experimentId, { mode, status, variants }) {
      try {
        return await withTransaction(pool, async (client) => {
          // The row is locked (or created) first, so that two PUTs of one experiment apply one after
          // the other and each sees whether the other started it. Looked up before inserting: an
          // INSERT that meets a conflict still draws a tag from the sequence, and tags are few.
          const lock = () =>
            client.query<{ started: boolean; same_design: boolean }>(
              `SELECT started_at IS NOT NULL AS started, mode = $2 AND variants = $3::jsonb AS same_design
               FROM experiments WHERE experiment_id = $1 FOR UPDATE`,
              [experimentId, mode, JSON.stringify(variants)],
            );
          let { rows } = await lock();
          if (rows.length === 0) {
            // A new experiment that could not run is refused before it draws a tag: a script retrying
            // the refused creation would otherwise use the tags up. The index still settles races.
            if (status === 'running') {
              const other = await client.query<{ experiment_id: string }>(`SELECT experiment_id FROM experiments WHERE status = 'running'`);
              if (other.rows[0] !== undefined) throw alreadyRunning(other.rows[0].experiment_id, experimentId);
            }
            await client.query(
              `INSERT INTO experiments (experiment_id, mode, status, variants) VALUES ($1, $2, 'stopped', $3::jsonb)
               ON CONFLICT (experiment_id) DO NOTHING`,
              [experimentId, mode, JSON.stringify(variants)],
            );
            ({ rows } = await lock());
          }
          const current = rows[0]!;
          if (current.started && !current.same_design) {
            throw new LrecError(
              ERROR_CODES.EXPERIMENT_FROZEN,
              `experiment ${experimentId} has started: its mode and variants cannot change (its figures would mix two designs); create a new experiment instead`,
              { statusCode: 409 },
            );
          }
          // A second running experiment violates the unique partial index here, whatever else runs at
          // the same moment: no check-then-act.
          const updated = await client.query<ExperimentRow>(
            `UPDATE experiments
             SET mode = $2, variants = $3::jsonb, status = $4, updated_at = now(),
                 started_at = CASE WHEN $4 = 'running' THEN COALESCE(started_at, now()) ELSE started_at END,
                 stopped_at = CASE WHEN $4 = 'running' THEN NULL
                                   WHEN status = 'running' THEN now()
                                   ELSE stopped_at END
             WHERE experiment_id = $1
             RETURNING ${COLUMNS}`,
            [experimentId, mode, JSON.stringify(variants), status],
          );
          return experimentOf(updated.rows[0]!);
        });
      } catch (err) {
        if ((err as DatabaseError).code === UNIQUE_VIOLATION && (err as DatabaseError).constraint === ONE_RUNNING_INDEX) {
          const other = await running().catch(() => undefined);
          throw alreadyRunning(other?.experimentId ?? 'another', experimentId, err);
        }
        if ((err as DatabaseError).code === SEQUENCE_LIMIT_EXCEEDED) {
          throw new LrecError(
            ERROR_CODES.EXPERIMENT_TAGS_USED_UP,
            `all ${MAX_EXPERIMENT_TAG.toLocaleString('en')} experiment tags have been drawn, so ${experimentId} cannot be created: each tag names its experiment's recommendationIds for good and is never reused. An existing experiment can still be stopped and started again, and one that never started redefined.`,
            { statusCode: 409, cause: err },
          );
        }
        throw err;
      }
    },

    async list() {
      const { rows } = await pool.query<ExperimentRow>(`SELECT ${COLUMNS} FROM experiments ORDER BY created_at DESC, tag DESC`);
      return rows.map(experimentOf);
    },

    async get(experimentId) {
      const { rows } = await pool.query<ExperimentRow>(`SELECT ${COLUMNS} FROM experiments WHERE experiment_id = $1`, [experimentId]);
      return rows[0] === undefined ? undefined : experimentOf(rows[0]);
    },

    running,
  };
}

const alreadyRunning = (running: string, starting: string, cause?: unknown) =>
  new LrecError(ERROR_CODES.EXPERIMENT_ALREADY_RUNNING, `experiment ${running} is running; stop it before starting ${starting}`, {
    statusCode: 409,
    ...(cause === undefined ? {} : { cause }),
  });
