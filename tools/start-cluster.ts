/**
 * `npm run start:cluster`: the production shape on loopback, with no Docker (DESIGN, ADR 009).
 * Three Kafka brokers (replication factor 3, min.insync.replicas 2), a Redis Cluster of three
 * primaries with a replica each, the Postgres primary and a streaming hot standby (infra/cluster.sh),
 * and two instances of every service, each on its own port; then the demo shop and a first run,
 * as `npm start` does. Ctrl-C stops it all: the services, then the cluster (its data is kept).
 */
import { execFileSync } from 'node:child_process';
import { CLUSTER_SH, clusterInfrastructure, clusterInstances, createFleet, LOCAL_SH, localKafkaRunning } from '@lambdarec/local-stack';
import { basicAuth, loadDemoShop, runFirstBatch, serviceEnvironment } from './demo-setup.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

const CLUSTER_INSTANCES = clusterInstances();
const url = (name: string) => `http://127.0.0.1:${CLUSTER_INSTANCES.find((i) => i.name === name)!.port}`;

// The single-node broker holds 59092 and 59093, two of the cluster's broker ports; the cluster's
// Postgres primary is the single node's, so stopping it loses nothing.
if (localKafkaRunning()) {
  say('▶ stopping the single-node infrastructure (npm run infra:down): the cluster uses its Kafka ports');
  execFileSync('bash', [LOCAL_SH, 'down'], { stdio: 'inherit' });
}

say('▶ infrastructure: Kafka 59092-59094, Redis Cluster 55001-55006, Postgres 55432 + standby 55433');
let infraEnv: Record<string, string>;
try {
  infraEnv = clusterInfrastructure();
} catch {
  process.stderr.write('npm run start:cluster: the cluster did not come up (see the lines above); nothing was started\n');
  process.exit(1);
}

const env = serviceEnvironment(infraEnv);
// A REDIS_URL left in the caller's shell would select a single Redis beside the cluster (a config error).
delete env['REDIS_URL'];
env['SERVING_URL'] ??= url('serving-1');
env['INGEST_URL'] ??= url('ingest-1');
env['STOREFRONT_ORIGINS'] ??= 'http://localhost:3003,http://127.0.0.1:3003';

let stopping = false;
const fleet = createFleet({
  instances: CLUSTER_INSTANCES,
  env,
  say,
  onExit(name, reason) {
    // One instance of two gone is what the topology is for: say so, keep the rest running.
    if (!stopping) say(`[${name}] exited (${reason}); its twin carries on. Start it again with Ctrl-C and npm run start:cluster`);
  },
});

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  say('\n▶ stopping the services, then the cluster (its data is kept; npm run start:cluster starts it again)');
  await fleet.stopAll();
  execFileSync('bash', [CLUSTER_SH, 'down'], { stdio: 'inherit' });
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
process.on('SIGHUP', () => void stopAll(0));

say('▶ services, two of each');
fleet.startAll();

try {
  await fleet.ready();
  await loadDemoShop({ ingestUrl: url('ingest-1'), databaseUrl: env['DATABASE_URL']!, catalogApiKey: env['CATALOG_API_KEY']!, say });
  await runFirstBatch({
    batchUrl: url('batch-1'),
    servingUrls: [url('serving-1'), url('serving-2')],
    databaseUrl: env['DATABASE_URL']!,
    authorization: basicAuth(env),
    say,
  });
  const topology = execFileSync('bash', [CLUSTER_SH, 'status'], { encoding: 'utf8' }).trimEnd();
  const services = CLUSTER_INSTANCES.map(({ name, port }) => `  ${name.padEnd(11)} http://127.0.0.1:${port}   pid ${fleet.pid(name)}`).join(
    '\n',
  );
  say(`
lambdarec is running as a cluster.

Infrastructure:
${topology
  .split('\n')
  .map((line) => `  ${line}`)
  .join('\n')}

Services:
${services}

  recommendations  ${url('serving-1')}/recommendations/demo-user-1  and  ${url('serving-2')}/recommendations/demo-user-1
  demo shop        http://localhost:3003
  dashboard        ${url('batch-1')}/admin/queues   user: ${env['DASHBOARD_USER']}  password: ${env['DASHBOARD_PASSWORD']}
  experiments      ${url('batch-1')}/admin/experiments   (same credentials; npm run simulate -- --experiment <id> --create ab:popular,lambda)
  catalog API key  ${env['CATALOG_API_KEY']}

Faults on purpose: bash infra/cluster.sh kill kafka-2 | redis-55001 | postgres-standby (start <piece> brings it back);
the whole fault run with its table: npm run chaos (after Ctrl-C here).

Ctrl-C stops it all.`);
} catch (err) {
  say(`✖ start-up failed: ${(err as Error).message}`);
  await stopAll(1);
}
