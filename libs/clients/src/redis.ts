import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.js';

export type { Cluster, Redis };

/**
 * What code that only sends commands takes: one Redis server or a Redis Cluster. Commands whose
 * keys all hash to one slot work the same on both; anything that lists keys goes through
 * `primariesOf` / `scanKeys`, since a Cluster's SCAN sees one node only.
 */
export type RedisClient = Redis | Cluster;

/** Where Redis is: one server by URL, or a Redis Cluster by some of its nodes (`host:port`), from which it learns the rest. */
export type RedisConnection = { url: string; clusterNodes?: undefined } | { clusterNodes: readonly string[]; url?: undefined };

export type RedisClientOptions = RedisConnection & {
  log: Logger;
  /**
   * BullMQ needs `maxRetriesPerRequest: null` (blocking commands must wait out a reconnect);
   * request paths want a bounded retry and a command timeout, so a Redis outage fails fast and
   * degrades the answer instead of hanging it.
   */
  purpose: 'requests' | 'bullmq';
  /** Per-server options over the policy's (on a Cluster, for each node). */
  options?: RedisOptions;
  /** Cluster-wide options over the policy's; ignored for one server. */
  clusterOptions?: ClusterOptions;
};

const retryDelayMs = (attempt: number) => Math.min(attempt * 200, 2_000);

/** The connection policy of a purpose, for one server or each node of a Cluster. */
function serverOptions(purpose: RedisClientOptions['purpose']) {
  return {
    maxRetriesPerRequest: purpose === 'bullmq' ? null : 1,
    // A request waits at most this long for Redis, then degrades; BullMQ's blocking calls must not time out.
    ...(purpose === 'requests' ? { commandTimeout: 1_000 } : {}),
    connectTimeout: 2_000,
  };
}

/**
 * The Cluster side of the policy. A command whose primary went away is retried after
 * `retryDelayOnFailover` (the slots are refreshed meanwhile), and gives up after
 * `maxRedirections` tries or its command timeout: a request fails within about a second while a
 * replica takes over (the cluster's node timeout and an election, about 3 s with
 * infra/cluster.sh's 2 s) and degrades its answer. BullMQ's commands have no timeout and are
 * spaced further apart, so they ride the failover out: one waited 3.6 s and succeeded.
 */
function clusterPolicy(purpose: RedisClientOptions['purpose']): ClusterOptions {
  const retryDelay = purpose === 'requests' ? 100 : 500;
  return {
    // Reads stay on primaries: replication is asynchronous, and a session read right after its
    // write (the operator view, a recommendation after a click), a rate limit or a login count
    // must see that write. Replicas are for failover, not for spreading reads.
    scaleReads: 'master',
    maxRedirections: 16,
    retryDelayOnFailover: retryDelay,
    retryDelayOnClusterDown: retryDelay,
    retryDelayOnTryAgain: retryDelay,
    // Off: a script defined with a variable number of keys (the session store's) would be grouped
    // by its first argument, the key count, into another node's pipeline. Concurrent commands are
    // written to each node's socket without waiting for replies anyway.
    enableAutoPipelining: false,
    // A Cluster queues commands while it (re)connects without any command timeout; on request
    // paths that would hang an answer through a whole-cluster outage, so they fail at once instead
    // (`redisReady` waits for the first connection where that matters).
    enableOfflineQueue: purpose === 'bullmq',
    clusterRetryStrategy: retryDelayMs,
    slotsRefreshTimeout: 2_000,
  };
}

/** `host:port` to the node shape ioredis takes (IPv6 literals are not supported). */
function clusterNode(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}

/** An ioredis client, or Cluster client, with reconnects logged, never thrown as unhandled 'error' events. */
export function createRedis(options: RedisClientOptions & { url: string }): Redis;
export function createRedis(options: RedisClientOptions & { clusterNodes: readonly string[] }): Cluster;
export function createRedis(options: RedisClientOptions): RedisClient;
export function createRedis({ url, clusterNodes, log, purpose, options, clusterOptions }: RedisClientOptions): RedisClient {
  const redis: RedisClient =
    clusterNodes === undefined
      ? new Redis(url, { lazyConnect: false, ...serverOptions(purpose), retryStrategy: retryDelayMs, ...options })
      : new Cluster(clusterNodes.map(clusterNode), {
          ...clusterPolicy(purpose),
          redisOptions: { ...serverOptions(purpose), ...options },
          ...clusterOptions,
        });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // One line per distinct error while reconnecting, not one per retry.
    if (err.message !== lastError) log.warn({ err }, 'redis error');
    lastError = err.message;
  });
  if (redis.isCluster) {
    // A Cluster reports its nodes' errors apart. While a replica takes over, the lost primary's
    // connection alternates "connect ECONNREFUSED" and "Connection is closed." every 100 ms or
    // so, and the Cluster stays ready throughout: each node's message once per half minute.
    const loggedAt = new Map<string, number>();
    redis.on('node error', (err: Error, node: string) => {
      const key = `${node} ${err.message}`;
      const now = Date.now();
      if (now - (loggedAt.get(key) ?? 0) < 30_000) return;
      if (loggedAt.size > 100) loggedAt.clear();
      loggedAt.set(key, now);
      log.warn({ err, node }, 'redis cluster node error');
    });
  }
  redis.on('ready', () => {
    if (lastError !== '') log.info('redis reconnected');
    lastError = '';
  });
  return redis;
}

/** Whether a client is a Redis Cluster client. */
export const isCluster = (redis: RedisClient): redis is Cluster => redis.isCluster;

/**
 * Resolves once the client is connected (a Cluster: once it knows its slots), or rejects after
 * `timeoutMs`. A request-path Cluster client refuses commands until then instead of queueing them.
 */
export async function redisReady(redis: RedisClient, timeoutMs = 5_000): Promise<void> {
  if (redis.status === 'ready') return;
  let timer: NodeJS.Timeout | undefined;
  let onReady = () => {};
  try {
    await new Promise<void>((resolve, reject) => {
      onReady = resolve;
      redis.once('ready', onReady);
      timer = setTimeout(() => reject(new Error(`redis not ready within ${timeoutMs} ms (${redis.status})`)), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    redis.off('ready', onReady);
  }
}

/**
 * The servers that hold the keys: the one server, or every primary of a Cluster. A Cluster knows
 * its primaries only once connected, so this waits for that: a scan over an empty list would
 * wrongly find nothing.
 */
export async function primariesOf(redis: RedisClient, readyTimeoutMs = 5_000): Promise<Redis[]> {
  if (!isCluster(redis)) return [redis];
  await redisReady(redis, readyTimeoutMs);
  const primaries = redis.nodes('master');
  if (primaries.length === 0) throw new Error('redis cluster has no primary it can reach');
  return primaries;
}

/**
 * Every key matching a pattern, a SCAN page at a time on each primary (never KEYS: it blocks the
 * server). Only non-empty pages are yielded.
 */
export async function* scanKeys(redis: RedisClient, pattern: string, count = 1000): AsyncGenerator<string[]> {
  for (const server of await primariesOf(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      if (keys.length > 0) yield keys;
      cursor = next;
    } while (cursor !== '0');
  }
}

/** QUIT, or a hard disconnect when Redis does not answer within `timeoutMs` (QUIT waits out an outage). */
export async function closeRedis(redis: RedisClient, timeoutMs = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const outcome = await Promise.race([redis.quit().catch(() => 'failed' as const), timedOut]);
    if (outcome !== 'OK') redis.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
