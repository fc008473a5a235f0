import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ConfigError, loadConfig } from './load-config.js';
import {
  batchConfigSchema,
  bullmqPrefixFrom,
  hasHashTag,
  ingestConfigSchema,
  redisConnectionFrom,
  replaySessionsConfigSchema,
  servingConfigSchema,
  speedConfigSchema,
} from './schemas.js';
import { storefrontConfigSchema } from './storefront-schema.js';

type Env = Record<string, string | undefined>;

const CLUSTER = '127.0.0.1:55001,127.0.0.1:55002, 127.0.0.1:55003';

/** Everything batch needs but its Redis. */
const buildBatchEnv = (redis: Env): Env => ({
  KAFKA_BROKERS: '127.0.0.1:59092',
  DATABASE_URL: 'postgres://lrec:lrec@127.0.0.1:55432/lrec',
  DASHBOARD_PASSWORD: 'correct-horse',
  CATALOG_API_KEY: 'catalog-key-for-tests',
  ...redis,
});

const problemsOf = (env: Env, schema: z.ZodType = batchConfigSchema): string[] => {
  try {
    loadConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
};

describe('REDIS_CLUSTER_NODES', () => {
  it('selects a Redis Cluster by its nodes, trimmed, with REDIS_URL unset', () => {
    const config = loadConfig(batchConfigSchema, buildBatchEnv({ REDIS_CLUSTER_NODES: CLUSTER }));
    expect(config.REDIS_CLUSTER_NODES).toEqual(['127.0.0.1:55001', '127.0.0.1:55002', '127.0.0.1:55003']);
    expect(config.REDIS_URL).toBeUndefined();
    expect(redisConnectionFrom(config)).toEqual({ clusterNodes: ['127.0.0.1:55001', '127.0.0.1:55002', '127.0.0.1:55003'] });
  });

  it('leaves REDIS_URL the one server when the cluster is not named', () => {
    const config = loadConfig(batchConfigSchema, buildBatchEnv({ REDIS_URL: 'redis://127.0.0.1:56379' }));
    expect(redisConnectionFrom(config)).toEqual({ url: 'redis://127.0.0.1:56379' });
  });

  it('is offered by every app that uses Redis, and the replay tool', () => {
    const env = buildBatchEnv({ REDIS_CLUSTER_NODES: CLUSTER });
    for (const schema of [ingestConfigSchema, speedConfigSchema, replaySessionsConfigSchema, batchConfigSchema, servingConfigSchema]) {
      expect(redisConnectionFrom(loadConfig(schema, env))).toEqual({ clusterNodes: expect.arrayContaining(['127.0.0.1:55001']) });
    }
  });

  it('names a node that is not host:port, or whose port is out of range', () => {
    expect(problemsOf(buildBatchEnv({ REDIS_CLUSTER_NODES: '127.0.0.1:55001,redis-b' }))).toEqual([
      'REDIS_CLUSTER_NODES: each node must be host:port (item 1)',
    ]);
    expect(problemsOf(buildBatchEnv({ REDIS_CLUSTER_NODES: 'redis-a:70000' }))).toEqual([
      'REDIS_CLUSTER_NODES: each node needs a port number 0–65535 (item 0)',
    ]);
    expect(problemsOf(buildBatchEnv({ REDIS_CLUSTER_NODES: ' , ' }))).toEqual(['REDIS_CLUSTER_NODES: at least one node']);
  });

  it('refuses both REDIS_URL and REDIS_CLUSTER_NODES rather than pick one', () => {
    expect(problemsOf(buildBatchEnv({ REDIS_URL: 'redis://127.0.0.1:56379', REDIS_CLUSTER_NODES: CLUSTER }))).toEqual([
      'REDIS_CLUSTER_NODES: set either REDIS_URL (one server) or REDIS_CLUSTER_NODES (a Redis Cluster), not both',
    ]);
  });

  it('without either, calls REDIS_URL required and says the cluster is the alternative, beside the other problems', () => {
    const problems = problemsOf({ KAFKA_BROKERS: '127.0.0.1:59092' }, speedConfigSchema);
    expect(problems).toEqual(['REDIS_URL: required (or REDIS_CLUSTER_NODES for a Redis Cluster)']);
    expect(problemsOf({ PORT: 'eighty' }, speedConfigSchema).sort()).toEqual([
      'KAFKA_BROKERS: required',
      expect.stringMatching(/^PORT: /),
      'REDIS_URL: required (or REDIS_CLUSTER_NODES for a Redis Cluster)',
    ]);
  });

  it('is no concern of the storefront, which has no Redis', () => {
    expect(() => loadConfig(storefrontConfigSchema, { DATABASE_URL: 'postgres://127.0.0.1:55432/lrec' })).not.toThrow();
  });
});

describe('BULLMQ_PREFIX', () => {
  it('is bull on one server, so the queues that exist keep working', () => {
    expect(bullmqPrefixFrom(loadConfig(batchConfigSchema, buildBatchEnv({ REDIS_URL: 'redis://127.0.0.1:56379' })))).toBe('bull');
  });

  it('is hash-tagged on a Redis Cluster, so that each queue keeps its keys in one slot', () => {
    const prefix = bullmqPrefixFrom(loadConfig(batchConfigSchema, buildBatchEnv({ REDIS_CLUSTER_NODES: CLUSTER })));
    expect(prefix).toBe('{lrec-bull}');
    expect(hasHashTag(prefix)).toBe(true);
  });

  it('takes a tagged prefix of the operator on a cluster, and any prefix on one server', () => {
    const cluster = loadConfig(batchConfigSchema, buildBatchEnv({ REDIS_CLUSTER_NODES: CLUSTER, BULLMQ_PREFIX: 'shop:{jobs}' }));
    expect(bullmqPrefixFrom(cluster)).toBe('shop:{jobs}');
    const single = loadConfig(batchConfigSchema, buildBatchEnv({ REDIS_URL: 'redis://127.0.0.1:56379', BULLMQ_PREFIX: 'jobs' }));
    expect(bullmqPrefixFrom(single)).toBe('jobs');
  });

  it('refuses an untagged prefix on a cluster, saying what to write instead', () => {
    for (const prefix of ['jobs', '{}jobs', 'jobs}{']) {
      expect(problemsOf(buildBatchEnv({ REDIS_CLUSTER_NODES: CLUSTER, BULLMQ_PREFIX: prefix })), prefix).toEqual([
        `BULLMQ_PREFIX: must hold a hash tag on a Redis Cluster, e.g. {${prefix}}, so that each queue's keys share one slot`,
      ]);
    }
  });
});

describe('hasHashTag', () => {
  it('finds the text between the first { and the next }, when there is some', () => {
    expect([hasHashTag('{a}'), hasHashTag('x{a}y'), hasHashTag('a}{b}'), hasHashTag('{}'), hasHashTag('{'), hasHashTag('a')]).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});
