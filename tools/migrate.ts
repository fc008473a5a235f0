/** `npm run migrate`: applies pending migrations to DATABASE_URL (default: the local Postgres of infra/local.sh). */
import { createLogger } from '@lambdarec/clients';
import { runMigrations } from '@lambdarec/stores';

const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://lambdarec:lambdarec@127.0.0.1:55432/lambdarec';
const log = createLogger({ name: 'migrate', level: 'info' });
const applied = await runMigrations({ databaseUrl, log });
process.stdout.write(applied.length === 0 ? 'migrations: nothing to apply\n' : `migrations applied: ${applied.join(', ')}\n`);
