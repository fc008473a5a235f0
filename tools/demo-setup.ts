/**
 * What `npm start` and `npm run start:cluster` do once the services answer: the demo shop into an
 * empty database through the public APIs, and a first batch run that every serving instance has
 * picked up. Shared, so that the two topologies start the same shop.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger, createPgPool } from '@lambdarec/clients';
import { createBatchViewReader, createCatalogRepository, createEventArchive } from '@lambdarec/stores';
import { demoCatalog, demoEvents, until, WORKSPACE_ROOT } from '@lambdarec/local-stack';

/** A secret generated once per checkout and kept in .local/ (owner-only), unless the caller sets one. */
export function localSecret(name: string, bytes: number): string {
  const file = path.join(WORKSPACE_ROOT, '.local', name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const secret = randomBytes(bytes).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** The caller's environment (what it sets wins) over the infrastructure's and the local defaults, with the local secrets. */
export function serviceEnvironment(infraEnv: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    ...infraEnv,
    DASHBOARD_USER: 'admin',
    LOG_LEVEL: 'info',
    ...(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<string, string>),
  };
  env['DASHBOARD_PASSWORD'] ??= localSecret('dashboard-password', 9);
  env['CATALOG_API_KEY'] ??= localSecret('catalog-api-key', 18);
  return env;
}

const startPool = (databaseUrl: string, max: number) =>
  createPgPool({ url: databaseUrl, log: createLogger({ name: 'start', level: 'warn' }), applicationName: 'lambdarec-start', max });

export const basicAuth = (env: Record<string, string>) =>
  `Basic ${Buffer.from(`${env['DASHBOARD_USER']}:${env['DASHBOARD_PASSWORD']}`).toString('base64')}`;

/** Loads the demo catalog and history through ingest when the database holds neither, and waits for the archive. */
export async function loadDemoShop({
  ingestUrl,
  databaseUrl,
  catalogApiKey,
  say,
}: {
  ingestUrl: string;
  databaseUrl: string;
  catalogApiKey: string;
  say: (line: string) => void;
}): Promise<void> {
  const pool = startPool(databaseUrl, 2);
  try {
    const archive = createEventArchive({ pool });
    if ((await archive.count()) > 0 || (await createCatalogRepository({ pool }).count()) > 0) return;
    const catalog = demoCatalog();
    const events = demoEvents();
    say(
      `▶ demo data: ${catalog.length} products, ${events.length} events from ${new Set(events.map((e) => e.userId)).size} users, through the ingest API`,
    );
    const put = await fetch(`${ingestUrl}/products`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${catalogApiKey}` },
      body: JSON.stringify(catalog),
    });
    if (!put.ok) throw new Error(`PUT /products answered ${put.status}: ${await put.text()}`);
    // The demo history goes back a month: a history import, with the operator's key.
    for (let i = 0; i < events.length; i += 500) {
      const res = await fetch(`${ingestUrl}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${catalogApiKey}` },
        body: JSON.stringify({ events: events.slice(i, i + 500) }),
      });
      if (res.status !== 202) throw new Error(`POST /events answered ${res.status}: ${await res.text()}`);
    }
    await until('the archiver to store the demo events', async () => ((await archive.count()) >= events.length ? true : undefined));
  } finally {
    await pool.end();
  }
}

/** Runs the first batch when no run is published yet, and waits until every serving instance answers from it. */
export async function runFirstBatch({
  batchUrl,
  servingUrls,
  databaseUrl,
  authorization,
  say,
}: {
  batchUrl: string;
  servingUrls: readonly string[];
  databaseUrl: string;
  authorization: string;
  say: (line: string) => void;
}): Promise<void> {
  const pool = startPool(databaseUrl, 1);
  const published = await createBatchViewReader({ pool })
    .publishedRun()
    .finally(() => pool.end());
  if (published !== undefined) return;
  say('▶ first batch run');
  const res = await fetch(`${batchUrl}/batch/runs`, { method: 'POST', headers: { authorization } });
  const { runId } = (await res.json()) as { runId: string };
  const run = await until('the batch run', async () => {
    const r = (await (await fetch(`${batchUrl}/batch/runs/${runId}`, { headers: { authorization } })).json()) as {
      status: string;
      stats: unknown;
    };
    return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
  });
  if (run.status !== 'succeeded') throw new Error(`the first batch run failed: ${JSON.stringify(run.stats)}`);
  await Promise.all(
    servingUrls.map((servingUrl) =>
      until(`serving at ${servingUrl} to pick up the run`, async () => {
        const answer = (await (await fetch(`${servingUrl}/recommendations/demo-user-1`)).json()) as {
          sources: { batchRunId: string | null };
        };
        return answer.sources.batchRunId === runId ? true : undefined;
      }),
    ),
  );
}
