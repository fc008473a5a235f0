import { createRedis, redisReady, type Logger, type RedisClient } from '@lambdarec/clients';
import type { InfraEndpoints } from './infra.js';
import { testLogger } from './test-logger.js';

/** The two kinds of Redis the code runs on: tests that must hold on both run once for each (describe.each). */
export const REDIS_KINDS = ['one Redis server', 'a Redis Cluster'] as const;
export type RedisKind = (typeof REDIS_KINDS)[number];

/**
 * A request-path client of that kind on the test run's services, connected: a Cluster client on a
 * request path refuses commands until it knows its slots.
 */
export async function connectTestRedis(
  kind: RedisKind,
  infra: Pick<InfraEndpoints, 'redisUrl' | 'redisClusterNodes'>,
  log: Logger = testLogger('test'),
): Promise<RedisClient> {
  const redis =
    kind === 'a Redis Cluster'
      ? createRedis({ clusterNodes: infra.redisClusterNodes, log, purpose: 'requests' })
      : createRedis({ url: infra.redisUrl, log, purpose: 'requests' });
  await redisReady(redis);
  return redis;
}

/** The values of keys in any slots, in order: MGET would need them in one slot on a Cluster. */
export const valuesOf = (redis: RedisClient, keys: readonly string[]): Promise<Array<string | null>> =>
  Promise.all(keys.map((key) => redis.get(key)));
