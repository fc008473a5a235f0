import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { clusterCommand, LOCAL_SH, parseInfraEnv, WORKSPACE_ROOT } from '@lambdarec/local-stack';
import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The real services of this test run, from the global setup. */
    infra: InfraEndpoints;
  }
}

/** Where the real services of a test run are. */
export interface InfraEndpoints {
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string[];
  /** Seed nodes (`host:port`) of a Redis Cluster of three primaries with a replica each, for the tests that run on one. */
  redisClusterNodes: string[];
  /** How they were provided: testcontainers, the project's local services, or given by the environment. */
  provider: 'testcontainers' | 'local' | 'environment';
  /** Versions as reported at start-up, for the log. */
  versions: string;
}

export interface StartedInfra extends InfraEndpoints {
  stop(): Promise<void>;
}

const run = promisify(execFile);

/**
 * A Docker engine is reachable when DOCKER_HOST is set or the default socket exists. This only
 * looks at the file system (microseconds): testcontainers itself is imported only when it says yes.
 */
export async function dockerLikelyAvailable(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (env['DOCKER_HOST'] !== undefined && env['DOCKER_HOST'] !== '') return true;
  try {
    await access('/var/run/docker.sock');
    return true;
  } catch {
    return false;
  }
}

type StartedServices = Omit<StartedInfra, 'redisClusterNodes'>;

/** The tests' Redis Cluster: beside the single-node services, and apart from the ports and state of `npm run start:cluster`. */
export const TEST_REDIS_CLUSTER = {
  dir: path.join(WORKSPACE_ROOT, '.local/test-cluster'),
  // Below the kernel's ephemeral range (32768 and up), with their cluster bus ports (+10000):
  // an outgoing connection can never hold one of them when the cluster starts.
  redisPorts: [21001, 21002, 21003, 21004, 21005, 21006],
} as const;

/**
 * The Redis Cluster's seed nodes: REDIS_CLUSTER_NODES when set, else the tests' own cluster,
 * started by infra/cluster.sh when needed (idempotent, and serialised between concurrent runs).
 * It outlives the run, as the local services do.
 */
async function startRedisCluster(env: NodeJS.ProcessEnv): Promise<string[]> {
  let nodes = env['REDIS_CLUSTER_NODES'];
  if (nodes === undefined || nodes === '') {
    await clusterCommand(TEST_REDIS_CLUSTER, 'up', 'redis');
    nodes = parseInfraEnv(await clusterCommand(TEST_REDIS_CLUSTER, 'env'))['REDIS_CLUSTER_NODES'];
    if (nodes === undefined || nodes === '') throw new Error('infra/cluster.sh env did not name REDIS_CLUSTER_NODES');
  }
  return nodes.split(',').map((node) => node.trim());
}

async function startWithTestcontainers(): Promise<StartedServices> {
  const [{ PostgreSqlContainer }, { RedisContainer }, { KafkaContainer }] = await Promise.all([
    import('@testcontainers/postgresql'),
    import('@testcontainers/redis'),
    import('@testcontainers/kafka'),
  ]);
  const [postgres, redis, kafka] = await Promise.all([
    new PostgreSqlContainer('postgres:15-alpine').withUsername('lambdarec').withPassword('lambdarec').withDatabase('lambdarec').start(),
    new RedisContainer('redis:7-alpine').start(),
    new KafkaContainer('apache/kafka:4.1.1').withKraft().start(),
  ]);
  return {
    provider: 'testcontainers',
    databaseUrl: postgres.getConnectionUri(),
    redisUrl: redis.getConnectionUrl(),
    kafkaBrokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
    versions: 'postgres:15-alpine, redis:7-alpine, apache/kafka:4.1.1 (containers)',
    async stop() {
      await Promise.allSettled([postgres.stop(), redis.stop(), kafka.stop()]);
    },
  };
}

async function startLocal(): Promise<StartedServices> {
  const { stdout } = await run('bash', [LOCAL_SH, 'up'], { cwd: WORKSPACE_ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 });
  const vars = parseInfraEnv((await run('bash', [LOCAL_SH, 'env'], { cwd: WORKSPACE_ROOT })).stdout);
  return {
    provider: 'local',
    databaseUrl: vars['DATABASE_URL']!,
    redisUrl: vars['REDIS_URL']!,
    kafkaBrokers: vars['KAFKA_BROKERS']!.split(','),
    versions: stdout.trim(),
    // The local services outlive the test run: the next run reuses them in seconds.
    async stop() {},
  };
}

/**
 * Real Postgres, Redis and Kafka for tests: the services named by DATABASE_URL, REDIS_URL and
 * KAFKA_BROKERS when all three are set; else testcontainers when a Docker engine is reachable;
 * else the project's own local services (infra/local.sh), started when needed. And a Redis
 * Cluster beside them (startRedisCluster).
 */
export async function startInfra(env: NodeJS.ProcessEnv = process.env): Promise<StartedInfra> {
  const [services, redisClusterNodes] = await Promise.all([startServices(env), startRedisCluster(env)]);
  return { ...services, redisClusterNodes };
}

async function startServices(env: NodeJS.ProcessEnv): Promise<StartedServices> {
  const { DATABASE_URL, REDIS_URL, KAFKA_BROKERS } = env;
  if (DATABASE_URL && REDIS_URL && KAFKA_BROKERS) {
    return {
      provider: 'environment',
      databaseUrl: DATABASE_URL,
      redisUrl: REDIS_URL,
      kafkaBrokers: KAFKA_BROKERS.split(','),
      versions: 'services given by DATABASE_URL, REDIS_URL, KAFKA_BROKERS',
      async stop() {},
    };
  }
  if (await dockerLikelyAvailable(env)) {
    try {
      return await startWithTestcontainers();
    } catch (err) {
      process.stderr.write(`testcontainers could not start (${(err as Error).message}); using the local services\n`);
    }
  }
  return startLocal();
}
