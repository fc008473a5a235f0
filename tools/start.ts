/**
 * `npm start`: the whole system on this machine with demo data. Brings up Postgres, Redis and
 * Kafka (infra/local.sh), starts the four services and the demo storefront, loads the demo shop
 * into an empty database through the public APIs, runs one batch, and prints where everything is.
 * Ctrl-C stops the services cleanly; the infrastructure keeps running (npm run infra:down stops it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, createPgPool } from '@lambdarec/clients';
import { createBatchViewReader, createCatalogRepository, createEventArchive } from '@lambdarec/stores';
import { demoCatalog, demoEvents, localInfrastructure } from '@lambdarec/local-stack';

const root = fileURLToPath(new URL('..', import.meta.url));
const say = (line: string) => process.stdout.write(`${line}\n`);

const APPS = [
  { name: 'ingest', port: 3001 },
  { name: 'speed', port: 3004 },
  { name: 'batch', port: 3002 },
  { name: 'serving', port: 3000 },
  { name: 'storefront', port: 3003 },
] as const;
type AppName = (typeof APPS)[number]['name'];
const NAME_WIDTH = Math.max(...APPS.map(({ name }) => name.length));

say('▶ infrastructure (Postgres 55432, Redis 56379, Kafka 59092)');
let infraEnv: Record<string, string>;
try {
  infraEnv = localInfrastructure();
} catch {
  // infra/local.sh has said what is wrong (a port taken, a package that would not install); a
  // stack trace of the call that ran it would only bury that.
  process.stderr.write('npm start: the local infrastructure did not come up (see the infra: lines above); nothing was started\n');
  process.exit(1);
}

/** A secret generated once per checkout and kept in .local/ (owner-only), unless the caller sets one. */
function localSecret(name: string, bytes: number): string {
  const file = path.join(root, '.local', name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const secret = randomBytes(bytes).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

// What the caller sets wins over the local defaults, so `DASHBOARD_USER=ops npm start` works.
const env: Record<string, string> = {
  ...infraEnv,
  DASHBOARD_USER: 'admin',
  LOG_LEVEL: 'info',
  ...(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<string, string>),
};
env['DASHBOARD_PASSWORD'] ??= localSecret('dashboard-password', 9);
env['CATALOG_API_KEY'] ??= localSecret('catalog-api-key', 18);
const ports = Object.fromEntries(APPS.map(({ name, port }) => [name, Number(env[`${name.toUpperCase()}_PORT`] ?? port)])) as Record<
  AppName,
  number
>;
const base = (name: AppName) => `http://127.0.0.1:${ports[name]}`;
// The storefront's server asks serving; shoppers' browsers post to ingest, which must allow the
// storefront's origin (both spellings of this machine, since either may be typed in).
env['SERVING_URL'] ??= base('serving');
env['INGEST_URL'] ??= base('ingest');
env['STOREFRONT_ORIGINS'] ??= `http://localhost:${ports.storefront},http://127.0.0.1:${ports.storefront}`;

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'ERROR', 60: 'FATAL' };
/** Service logs are JSON lines (for machines); here they are shortened for a person at a terminal. */
function relay(name: string, stream: NodeJS.ReadableStream) {
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        const {
          level,
          msg,
          err,
          time: _t,
          service: _s,
          name: _n,
          pid: _p,
          hostname: _h,
          ...rest
        } = JSON.parse(line) as Record<string, unknown>;
        const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
        const error = err ? ` ${(err as { message?: string }).message ?? ''}` : '';
        say(
          `[${name.padEnd(NAME_WIDTH)}] ${LEVELS[level as number] ?? level} ${msg}${error}${extra.length > 300 ? `${extra.slice(0, 300)}…` : extra}`,
        );
      } catch {
        say(`[${name.padEnd(NAME_WIDTH)}] ${line}`);
      }
    }
  });
}

const children = new Map<AppName, ChildProcess>();
let stopping = false;

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  say('\n▶ stopping the services (the infrastructure keeps running; npm run infra:down stops it)');
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
process.on('SIGHUP', () => void stopAll(0));
// Should this script die some other way, its services go with it.
process.on('exit', () => {
  for (const child of children.values()) if (child.exitCode === null) child.kill('SIGTERM');
});

say('▶ services');
for (const { name } of APPS) {
  const child = spawn(process.execPath, ['--import', 'tsx', `apps/${name}/src/main.ts`], {
    cwd: root,
    env: { ...env, PORT: String(ports[name]) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: Ctrl-C reaches only this script, which then stops each service once with
    // SIGTERM (a second signal would make a service exit without finishing its close).
    detached: true,
  });
  relay(name, child.stdout!);
  relay(name, child.stderr!);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    say(`[${name.padEnd(NAME_WIDTH)}] exited (${signal ?? code}); stopping the rest`);
    void stopAll(1);
  });
  children.set(name, child);
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const auth = `Basic ${Buffer.from(`${env['DASHBOARD_USER']}:${env['DASHBOARD_PASSWORD']}`).toString('base64')}`;

try {
  await Promise.all(
    APPS.map(({ name }) => until(`${name} to be ready`, async () => ((await fetch(`${base(name)}/readyz`)).ok ? true : undefined))),
  );

  const pool = createPgPool({
    url: env['DATABASE_URL']!,
    log: createLogger({ name: 'start', level: 'warn' }),
    applicationName: 'lambdarec-start',
    max: 2,
  });
  const archive = createEventArchive({ pool });
  if ((await archive.count()) === 0 && (await createCatalogRepository({ pool }).count()) === 0) {
    const catalog = demoCatalog();
    const events = demoEvents();
    say(
      `▶ demo data: ${catalog.length} products, ${events.length} events from ${new Set(events.map((e) => e.userId)).size} users, through the ingest API`,
    );
    const put = await fetch(`${base('ingest')}/products`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${env['CATALOG_API_KEY']}` },
      body: JSON.stringify(catalog),
    });
    if (!put.ok) throw new Error(`PUT /products answered ${put.status}: ${await put.text()}`);
    // The demo history goes back a month: a history import, with the operator's key.
    for (let i = 0; i < events.length; i += 500) {
      const res = await fetch(`${base('ingest')}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${env['CATALOG_API_KEY']}` },
        body: JSON.stringify({ events: events.slice(i, i + 500) }),
      });
      if (res.status !== 202) throw new Error(`POST /events answered ${res.status}: ${await res.text()}`);
    }
    await until('the archiver to store the demo events', async () => ((await archive.count()) >= events.length ? true : undefined));
  }
  const published = await createBatchViewReader({ pool }).publishedRun();
  await pool.end();

  if (published === undefined) {
    say('▶ first batch run');
    const res = await fetch(`${base('batch')}/batch/runs`, { method: 'POST', headers: { authorization: auth } });
    const { runId } = (await res.json()) as { runId: string };
    const run = await until('the batch run', async () => {
      const r = (await (await fetch(`${base('batch')}/batch/runs/${runId}`, { headers: { authorization: auth } })).json()) as {
        status: string;
        stats: unknown;
      };
      return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
    });
    if (run.status !== 'succeeded') throw new Error(`the first batch run failed: ${JSON.stringify(run.stats)}`);
    await until('serving to pick up the run', async () => {
      const answer = (await (await fetch(`${base('serving')}/recommendations/demo-user-1`)).json()) as {
        sources: { batchRunId: string | null };
      };
      return answer.sources.batchRunId === runId ? true : undefined;
    });
  }

  say(`
lambdarec is running.

  demo shop        http://localhost:${ports.storefront}     (pick a demo shopper at the top; buy, browse, watch "Recommended for you")
  recommendations  ${base('serving')}/recommendations/demo-user-1     (API docs: ${base('serving')}/docs)
  similar items    ${base('serving')}/items/tea-1/similar
  ingest           ${base('ingest')}/events  and  PUT ${base('ingest')}/products     (docs: ${base('ingest')}/docs)
  catalog API key  ${env['CATALOG_API_KEY']}   (PUT /products and history imports on POST /events: Authorization: Bearer <key>)
  batch runs       ${base('batch')}/batch/runs     (dashboard credentials; docs: ${base('batch')}/docs)
  dashboard        ${base('batch')}/admin/queues   user: ${env['DASHBOARD_USER']}  password: ${env['DASHBOARD_PASSWORD']}
  speed layer      ${base('speed')}/metrics
  health           /healthz, /readyz and /metrics on every service

Try it:
  curl -s ${base('serving')}/recommendations/demo-user-1
  curl -s -XPOST ${base('ingest')}/events -H 'content-type: application/json' \\
       -d '{"userId":"demo-user-1","type":"purchase","productId":"<a productId from the list>"}'
  curl -s -XPUT ${base('ingest')}/products -H 'authorization: Bearer ${env['CATALOG_API_KEY']}' \\
       -H 'content-type: application/json' -d '[{"productId":"tea-1","inStock":false}]'
  curl -s -XPOST -u '${env['DASHBOARD_USER']}:${env['DASHBOARD_PASSWORD']}' ${base('batch')}/batch/runs
  curl -s -u '${env['DASHBOARD_USER']}:${env['DASHBOARD_PASSWORD']}' ${base('batch')}/batch/runs

Ctrl-C stops the services.`);
} catch (err) {
  say(`✖ start-up failed: ${(err as Error).message}`);
  await stopAll(1);
}
