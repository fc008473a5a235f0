import pg from 'pg';
import type { Logger } from './logger.js';

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

export interface PgPoolOptions {
  url: string;
  log: Logger;
  /** @defaultValue 10 */
  max?: number;
  applicationName: string;
  /**
   * Longest a query may take before it fails (request paths degrade instead of hanging on a
   * Postgres that stalls). @defaultValue none: batch queries may run long
   */
  queryTimeoutMs?: number;
}

// bigint counts and offsets fit in a double here; per pool, not a global change to pg's parsers.
const parseInt8 = (value: string) => Number(value);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A pg pool whose idle-client errors (a restarted server) are logged instead of crashing the process. */
export function createPgPool({ url, log, max = 10, applicationName, queryTimeoutMs }: PgPoolOptions): PgPool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    types,
    ...(queryTimeoutMs === undefined ? {} : { query_timeout: queryTimeoutMs }),
  });
  pool.on('error', (err) => log.warn({ err }, 'postgres idle client error'));
  return pool;
}

/** Runs `work` in one transaction: COMMIT on success, ROLLBACK on any error (then rethrown). */
export async function withTransaction<T>(
  pool: PgPool,
  work: (client: PgClient) => Promise<T>,
  isolation: 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE' = 'READ COMMITTED',
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (err) {
    // A connection that cannot even roll back is broken: destroy it instead of pooling it.
    const rollbackError = await client.query('ROLLBACK').then(
      () => undefined,
      (rollbackErr: unknown) => rollbackErr as Error,
    );
    client.release(rollbackError);
    throw err;
  }
}
