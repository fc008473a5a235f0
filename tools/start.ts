/**
 * `npm start`: the whole system on this machine with demo data. Brings up Postgres, Redis and
 * Kafka (infra/local.sh), starts the four services and the demo storefront, loads the demo shop
 * into an empty database through the public APIs, runs one batch, and prints where everything is.
 * Ctrl-C stops the services cleanly; the infrastructure keeps running (npm run infra:down stops it).
 */
import { createFleet, localInfrastructure } from '@lambdarec/local-stack';
import { basicAuth, loadDemoShop, runFirstBatch, serviceEnvironment } from './demo-setup.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

const APPS = [
  { name: 'ingest', port: 3001 },
  { name: 'speed', port: 3004 },
  { name: 'batch', port: 3002 },
  { name: 'serving', port: 3000 },
  { name: 'storefront', port: 3003 },
] as const;
type AppName = (typeof APPS)[number]['name'];

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

const env = serviceEnvironment(infraEnv);
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

let stopping = false;
const fleet = createFleet({
  instances: APPS.map(({ name }) => ({ name, app: name, port: ports[name] })),
  env,
  say,
  onExit(name, reason) {
    if (stopping) return;
    say(`[${name}] exited (${reason}); stopping the rest`);
    void stopAll(1);
  },
});

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  say('\n▶ stopping the services (the infrastructure keeps running; npm run infra:down stops it)');
  await fleet.stopAll();
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
process.on('SIGHUP', () => void stopAll(0));

say('▶ services');
fleet.startAll();

const auth = basicAuth(env);

try {
  await fleet.ready();
  await loadDemoShop({ ingestUrl: base('ingest'), databaseUrl: env['DATABASE_URL']!, catalogApiKey: env['CATALOG_API_KEY']!, say });
  await runFirstBatch({
    batchUrl: base('batch'),
    servingUrls: [base('serving')],
    databaseUrl: env['DATABASE_URL']!,
    authorization: auth,
    say,
  });

  say(`
lambdarec is running.

  demo shop        http://localhost:${ports.storefront}     (pick a demo shopper at the top; buy, browse, watch "Recommended for you")
  recommendations  ${base('serving')}/recommendations/demo-user-1     (API docs: ${base('serving')}/docs)
  similar items    ${base('serving')}/items/tea-1/similar
  ingest           ${base('ingest')}/events  and  PUT ${base('ingest')}/products     (docs: ${base('ingest')}/docs)
  catalog API key  ${env['CATALOG_API_KEY']}   (PUT /products and history imports on POST /events: Authorization: Bearer <key>)
  batch runs       ${base('batch')}/batch/runs     (dashboard credentials; docs: ${base('batch')}/docs)
  dashboard        ${base('batch')}/admin/queues   user: ${env['DASHBOARD_USER']}  password: ${env['DASHBOARD_PASSWORD']}
  experiments      ${base('batch')}/admin/experiments   (same credentials; npm run simulate -- --experiment <id> --create ab:popular,lambda)
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
