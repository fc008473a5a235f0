import type { TestProject } from 'vitest/node';
import { startInfra } from './infra.js';

/** vitest global setup: real services once per test run, handed to tests with inject('infra'). */
export default async function setup(project: TestProject) {
  const started = Date.now();
  const infra = await startInfra();
  const { stop, ...endpoints } = infra;
  process.stdout.write(
    `[infra] ${endpoints.provider} in ${Date.now() - started} ms: postgres ${endpoints.databaseUrl.replace(/:[^:@/]*@/, ':***@')}, ` +
      `redis ${endpoints.redisUrl}, redis cluster ${endpoints.redisClusterNodes.join(',')}, kafka ${endpoints.kafkaBrokers.join(',')}\n[infra] ${endpoints.versions.split('\n').join('\n[infra] ')}\n`,
  );
  project.provide('infra', endpoints);
  return stop;
}
