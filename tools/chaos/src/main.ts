/**
 * `npm run chaos`: the fault run of issue 17 against the cluster topology (infra/cluster.sh and two
 * instances of every service, as `npm run start:cluster` runs them). It measures the most the two
 * ingest and two serving instances answer, then keeps half of that going while it kills, one at a
 * time and with recovery before the next: the Kafka broker leading the most partitions, the active
 * KRaft controller, a Redis primary, a speed instance, the batch instance in the middle of a run,
 * an ingest and a serving instance, and the Postgres standby. It ends with the table, and exits 1
 * when a row does not hold (an accepted event missing or archived twice, a session that differs
 * from the archive's, a run not published exactly once).
 *
 *   npm run chaos [-- --faults kafka-leader,redis-primary] [--hold 15] [--posts-per-second N] [--gets-per-second N]
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, createPgPool, createRedis, redisReady } from '@lambdarec/clients';
import {
  clusterInfrastructure,
  clusterInstances,
  CLUSTER_SH,
  createFleet,
  LOCAL_SH,
  localKafkaRunning,
  WORKSPACE_ROOT,
} from '@lambdarec/local-stack';
import { calibrationPost, measureMaximum } from './calibrate.js';
import { FAULT_NAMES, type FaultName } from './faults.js';
import { formatTable, runChaos } from './run.js';
import { chaosCatalog, fleetEnvironment } from './topology.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const { values } = parseArgs({
  options: {
    faults: { type: 'string', default: FAULT_NAMES.join(',') },
    hold: { type: 'string', default: '15' },
    'posts-per-second': { type: 'string' },
    'gets-per-second': { type: 'string' },
    'service-logs': { type: 'boolean', default: false },
  },
});
const faults = values.faults.split(',').map((name) => {
  if (!(FAULT_NAMES as readonly string[]).includes(name)) throw new Error(`unknown fault ${name}; known: ${FAULT_NAMES.join(', ')}`);
  return name as FaultName;
});

if (localKafkaRunning()) {
  say('▶ stopping the single-node infrastructure (npm run infra:down): the cluster uses its Kafka ports');
  execFileSync('bash', [LOCAL_SH, 'down'], { stdio: 'inherit' });
}
say('▶ cluster: Kafka 59092-59094, Redis Cluster 55001-55006, Postgres 55432 + standby 55433');
const infraEnv = clusterInfrastructure();

const logLines: string[] = [];
// Every service line also goes to a file, for the post-mortem of a row that does not hold.
mkdirSync(path.join(WORKSPACE_ROOT, 'reports'), { recursive: true });
const serviceLog = createWriteStream(path.join(WORKSPACE_ROOT, 'reports/chaos-services.log'));
const instances = clusterInstances().filter((i) => i.app !== 'storefront');
const env = fleetEnvironment(infraEnv);
const fleet = createFleet({
  instances,
  env,
  say(line) {
    logLines.push(line);
    serviceLog.write(`${line}\n`);
    if (values['service-logs']) say(line);
  },
  onExit: (name, reason) => say(`  ${name} exited (${reason})`),
});
const log = createLogger({ name: 'chaos', level: 'warn' });
const pool = createPgPool({ url: env['DATABASE_URL']!, log, applicationName: 'lambdarec-chaos', max: 4 });
const redis = createRedis({
  clusterNodes: env['REDIS_CLUSTER_NODES']!.split(','),
  log,
  purpose: 'requests',
  options: { commandTimeout: 10_000 },
});
let exitCode = 1;
// Ctrl-C stops the services (each finishes its close), not only this process.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`\n▶ ${signal}: stopping the services`);
    void fleet.stopAll().finally(() => process.exit(130));
  });
}
try {
  say('▶ services, two of each');
  fleet.startAll();
  await fleet.ready();
  await redisReady(redis);
  const urls = (app: string) => instances.filter((i) => i.app === app).map((i) => fleet.url(i.name));
  const products = chaosCatalog();
  const put = await fetch(`${urls('ingest')[0]}/products`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${env['CATALOG_API_KEY']}` },
    body: JSON.stringify(products),
  });
  if (!put.ok) throw new Error(`PUT /products answered ${put.status}: ${await put.text()}`);

  let postsPerSecond = Number(values['posts-per-second'] ?? NaN);
  let getsPerSecond = Number(values['gets-per-second'] ?? NaN);
  if (Number.isNaN(postsPerSecond) || Number.isNaN(getsPerSecond)) {
    say('▶ measuring the maximum (5 s of POSTs of 5 events, 5 s of GETs, 32 in flight, both instances)');
    const maxPosts = await measureMaximum({ urls: urls('ingest'), request: calibrationPost('calib', 5, products[0]!), ok: 202 });
    const maxGets = await measureMaximum({
      urls: urls('serving'),
      request: (url, n) => [`${url}/recommendations/chaos-calib-${n % 5_000}`, {}],
      ok: 200,
    });
    // Reads and writes share the machine: each alone at half its maximum would add up to all of
    // it. Half of the measured maximum of the mix is a quarter of each.
    say(
      `  maximum, each alone: ${maxPosts.toFixed(0)} POST/s, ${maxGets.toFixed(0)} GET/s; the run keeps a quarter of each going (half of the mix)`,
    );
    if (Number.isNaN(postsPerSecond)) postsPerSecond = Math.max(1, Math.round(maxPosts / 4));
    if (Number.isNaN(getsPerSecond)) getsPerSecond = Math.max(1, Math.round(maxGets / 4));
  }
  say(`▶ load: ${postsPerSecond} POST/s (5 events each) and ${getsPerSecond} GET/s; faults: ${faults.join(', ')}`);
  const result = await runChaos({
    ctx: {
      layout: {},
      fleet,
      say,
      logLines: () => logLines,
      authorization: `Basic ${Buffer.from(`${env['DASHBOARD_USER']}:${env['DASHBOARD_PASSWORD']}`).toString('base64')}`,
      holdMs: Number(values.hold) * 1000,
    },
    faults,
    pool,
    redis,
    ingestUrls: urls('ingest'),
    servingUrls: urls('serving'),
    postsPerSecond,
    getsPerSecond,
    products,
  });
  say(`\n${formatTable(result.rows)}\n`);
  const { final } = result;
  say(
    `after the last fault, with the load stopped: ${final.archive.missing} accepted events missing, ${final.archive.duplicated} archived twice, ${final.sessionsDiffering} of ${final.sessionsChecked} sessions differ from the archive's`,
  );
  const failing = result.rows.filter((row) => !row.holds);
  say(
    result.holds
      ? `every fault's row holds (${result.rows.length} faults)`
      : `${failing.length} of ${result.rows.length} rows do not hold, or the final check does not`,
  );
  exitCode = result.holds ? 0 : 1;
} catch (err) {
  say(`✖ chaos run failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await fleet.stopAll();
  await pool.end();
  redis.disconnect();
  say(`▶ the services' logs are in reports/chaos-services.log; the cluster keeps running (bash ${CLUSTER_SH} down stops it)`);
}
process.exit(exitCode);
