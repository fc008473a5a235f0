import pg from 'pg';

/**
 * Postgres down for one test database only: it refuses new connections and the ones it had are
 * ended, so the services on the shared server in other tests carry on. Returns how to bring it back.
 */
export async function takeDatabaseDown(adminUrl: string, databaseUrl: string): Promise<() => Promise<void>> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const asAdmin = async (work: (client: pg.Client) => Promise<unknown>) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.end();
    }
  };
  await asAdmin(async (client) => {
    await client.query(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS false`);
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  });
  return () => asAdmin((client) => client.query(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS true`));
}
