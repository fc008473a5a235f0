import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ServiceInstance } from './fleet.js';
import { parseInfraEnv, WORKSPACE_ROOT } from './local-infrastructure.js';

/** The script that runs the production-shaped infrastructure: three Kafka brokers, a Redis Cluster, a Postgres standby. */
export const CLUSTER_SH = path.join(WORKSPACE_ROOT, 'infra/cluster.sh');

/**
 * Where a cluster runs: its state folder and its ports. The defaults are DESIGN's (the ports of
 * `npm run start:cluster`); a test gives ports of its own so that its cluster runs beside the
 * single-node services the other tests use.
 */
export interface ClusterLayout {
  dir?: string;
  kafkaPorts?: readonly number[];
  controllerPorts?: readonly number[];
  redisPorts?: readonly number[];
  standbyPort?: number;
}

export type ClusterComponent = 'kafka' | 'redis' | 'postgres';

/** The environment that hands a layout to infra/cluster.sh. */
export function clusterScriptEnv(layout: ClusterLayout = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (layout.dir !== undefined) env['LREC_CLUSTER_DIR'] = layout.dir;
  if (layout.kafkaPorts !== undefined) env['LREC_CLUSTER_KAFKA_PORTS'] = layout.kafkaPorts.join(' ');
  if (layout.controllerPorts !== undefined) env['LREC_CLUSTER_CONTROLLER_PORTS'] = layout.controllerPorts.join(' ');
  if (layout.redisPorts !== undefined) env['LREC_CLUSTER_REDIS_PORTS'] = layout.redisPorts.join(' ');
  if (layout.standbyPort !== undefined) env['LREC_CLUSTER_STANDBY_PORT'] = String(layout.standbyPort);
  return env;
}

/**
 * Brings up the cluster (its output on this process's terminal) and answers its connection
 * variables: DATABASE_URL, DATABASE_READ_URL, REDIS_CLUSTER_NODES and KAFKA_BROKERS.
 */
export function clusterInfrastructure(layout: ClusterLayout = {}, components: readonly ClusterComponent[] = []): Record<string, string> {
  const env = clusterScriptEnv(layout);
  execFileSync('bash', [CLUSTER_SH, 'up', ...components], { cwd: WORKSPACE_ROOT, stdio: 'inherit', env });
  return parseInfraEnv(execFileSync('bash', [CLUSTER_SH, 'env'], { cwd: WORKSPACE_ROOT, encoding: 'utf8', env }));
}

const run = promisify(execFile);

/** Runs one infra/cluster.sh command (kill, start, status, kafka-leaders …) and answers its output. */
export async function clusterCommand(layout: ClusterLayout, ...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [CLUSTER_SH, ...args], {
    cwd: WORKSPACE_ROOT,
    env: clusterScriptEnv(layout),
    maxBuffer: 16 * 1024 * 1024,
    timeout: 10 * 60_000,
  });
  return stdout;
}

/**
 * Two instances of every app (DESIGN's ports: the first where `npm start` has it, the second 100
 * above) and the storefront. A test gives a base of its own, so its fleet runs beside others.
 */
export function clusterInstances(base = 3000): ServiceInstance[] {
  const at = (offset: number) => base + offset;
  return [
    { name: 'ingest-1', app: 'ingest', port: at(1) },
    { name: 'ingest-2', app: 'ingest', port: at(101) },
    { name: 'speed-1', app: 'speed', port: at(4) },
    { name: 'speed-2', app: 'speed', port: at(104) },
    { name: 'batch-1', app: 'batch', port: at(2) },
    { name: 'batch-2', app: 'batch', port: at(102) },
    { name: 'serving-1', app: 'serving', port: at(0) },
    { name: 'serving-2', app: 'serving', port: at(100) },
    { name: 'storefront', app: 'storefront', port: at(3) },
  ];
}
