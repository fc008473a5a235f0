import { createLogger, createPgPool, createRedis, type Cluster, type PgPool } from '@lambdarec/clients';
import {
  clusterCommand,
  clusterInfrastructure,
  clusterInstances,
  createFleet,
  until,
  WORKSPACE_ROOT,
  type ClusterLayout,
  type Fleet,
} from '@lambdarec/local-stack';
import { createTestDatabase, freePort, type TestDatabase } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chaosCatalog, fleetEnvironment, runChaos, type ChaosResult } from '../src/index.js';

// A cluster of its own, beside the single-node services the other tests share: three brokers and
// six Redis nodes, on ports no other test uses. They and the Redis bus ports (+10000) are below
// the kernel's ephemeral range (32768 and up), so no outgoing connection holds one when they
// start. The Postgres primary is the shared one, with a database of this test's own (the standby
// is left to `npm run chaos`).
const layout: ClusterLayout = {
  dir: `${WORKSPACE_ROOT}.local/smoke-cluster`,
  kafkaPorts: [21092, 21093, 21094],
  controllerPorts: [21192, 21193, 21194],
  redisPorts: [21101, 21102, 21103, 21104, 21105, 21106],
};

// Two speed instances (one is killed); one of each other app keeps the machine's two cores for the faults.
const APPS = new Set(['ingest-1', 'speed-1', 'speed-2', 'batch-1', 'serving-1']);

describe('the cluster topology, under load, through faults', () => {
  const logLines: string[] = [];
  let fleet: Fleet;
  let database: TestDatabase;
  let pool: PgPool;
  let redis: Cluster;
  let env: Record<string, string>;

  beforeAll(async () => {
    const infraEnv = clusterInfrastructure(layout, ['kafka', 'redis']);
    database = await createTestDatabase(inject('infra').databaseUrl, async () => undefined);
    env = fleetEnvironment(infraEnv, { DATABASE_URL: database.url, LOG_LEVEL: 'info' });
    delete env['DATABASE_READ_URL'];
    const instances = await Promise.all(
      clusterInstances()
        .filter((i) => APPS.has(i.name))
        .map(async (i) => ({ ...i, port: await freePort() })),
    );
    fleet = createFleet({ instances, env, say: (line) => logLines.push(line) });
    fleet.startAll();
    await fleet.ready(undefined, 180_000);
    const log = createLogger({ name: 'cluster-smoke', level: 'warn' });
    pool = createPgPool({ url: database.url, log, applicationName: 'lambdarec-cluster-smoke', max: 4 });
    redis = createRedis({
      clusterNodes: env['REDIS_CLUSTER_NODES']!.split(','),
      log,
      purpose: 'requests',
      options: { commandTimeout: 10_000 },
    });
    const put = await fetch(`${fleet.url('ingest-1')}/products`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${env['CATALOG_API_KEY']}` },
      body: JSON.stringify(chaosCatalog()),
    });
    expect(put.status).toBe(200);
  }, 420_000);

  afterAll(async () => {
    await fleet?.stopAll();
    await pool?.end();
    redis?.disconnect();
    await database?.drop();
    await clusterCommand(layout, 'down');
  }, 180_000);

  it('loses nothing and archives nothing twice through a broker kill, a Redis primary failover and a speed instance kill', async () => {
    let result: ChaosResult | undefined;
    try {
      result = await runChaos({
        ctx: {
          layout,
          fleet,
          say: (line) => void process.stderr.write(`${line}\n`),
          logLines: () => logLines,
          authorization: '',
          holdMs: 6_000,
        },
        faults: ['kafka-leader', 'redis-primary', 'speed'],
        pool,
        redis,
        ingestUrls: [fleet.url('ingest-1')],
        servingUrls: [fleet.url('serving-1')],
        postsPerSecond: 8,
        getsPerSecond: 10,
        users: 200,
        settleMs: 3_000,
        catchUpMs: 120_000,
        products: chaosCatalog(),
      });
    } finally {
      if (result?.holds !== true) process.stderr.write(`${logLines.slice(-200).join('\n')}\n`);
    }
    const { rows, final } = result;
    expect(rows.map((row) => [row.fault, row.archive.missing, row.archive.duplicated, row.sessionsDiffering])).toEqual([
      ['kafka-leader', 0, 0, 0],
      ['redis-primary', 0, 0, 0],
      ['speed', 0, 0, 0],
    ]);
    for (const row of rows) {
      // Each fault had traffic to lose, and the system came back within the run.
      expect(row.traffic.accepted.length).toBeGreaterThan(100);
      expect(row.recoveryMs).toBeDefined();
      expect(row.sessionsChecked).toBeGreaterThan(50);
    }
    expect(final).toMatchObject({ archive: { missing: 0, duplicated: 0 }, sessionsDiffering: 0 });

    // The batch worker takes jobs after the Redis failover: BullMQ on the cluster runs a whole run.
    const authorization = `Basic ${Buffer.from(`${env['DASHBOARD_USER']}:${env['DASHBOARD_PASSWORD']}`).toString('base64')}`;
    const started = await fetch(`${fleet.url('batch-1')}/batch/runs`, { method: 'POST', headers: { authorization } });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    const run = await until(
      'the batch run',
      async () => {
        const r = (await (await fetch(`${fleet.url('batch-1')}/batch/runs/${runId}`, { headers: { authorization } })).json()) as {
          status: string;
        };
        return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
      },
      180_000,
    );
    expect(run.status).toBe('succeeded');
    expect(final.sessionsChecked).toBeGreaterThan(3 * 50);
  }, 900_000);
});
