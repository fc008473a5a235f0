import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Logger } from '@lambdarec/clients';

// From source the SQL files sit beside src/; in a bundled app (tools/build-app.ts) they are copied next to main.js.
const bundled = fileURLToPath(new URL('./migrations', import.meta.url));
export const MIGRATIONS_DIR = existsSync(bundled) ? bundled : fileURLToPath(new URL('../migrations', import.meta.url));

/**
 * Applies pending migrations (node-pg-migrate, SQL files). Services call it at start-up, so it
 * waits on the library's advisory lock: several starting at once migrate exactly once.
 */
export async function runMigrations({ databaseUrl, log }: { databaseUrl: string; log: Logger }): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    advisoryLockMode: 'wait',
    checkOrder: true,
    log: (message: string) => log.debug({ component: 'migrations' }, message),
  });
  if (applied.length > 0) log.info({ applied: applied.map((m) => m.name) }, 'migrations applied');
  return applied.map((m) => m.name);
}
