import { createPgPool, type PgPool } from '@lambdarec/clients';
import { createTestDatabase, testLogger, type TestDatabase } from '@lambdarec/testing';
import { afterAll, beforeAll, inject } from 'vitest';
import { runMigrations } from '../src/migrations.js';

// Set by useMigratedPostgres() for the test file that calls it: each test file has its own
// instance of this module, and so its own database.
export let pool: PgPool;
export const log = testLogger('test');
let db: TestDatabase;

/** A migrated database of the calling test file's own and a pool on it, dropped when the file is done. */
export function useMigratedPostgres(): void {
  beforeAll(async () => {
    db = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
    pool = createPgPool({ url: db.url, log, applicationName: 'test' });
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });
}
