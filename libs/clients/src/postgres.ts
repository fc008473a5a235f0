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
}

// Event times and counts come back as strings by default; bigint counts fit in a double here.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/** A pg pool whose idle-client errors (a restarted server) are logged instead of crashing the process. */
export function createPgPool({ url, log, max = 10, applicationName }: PgPoolOptions): PgPool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
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
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
