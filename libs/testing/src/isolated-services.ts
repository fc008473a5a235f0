/**
 * The four services as processes on the local infrastructure, on a database, topic, queue and key
 * prefix of their own (removed by stop()): for tools that put load or hostile input on a running
 * system (fuzz, soak) without touching the data of `npm start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { closeRedis, createKafka, createLogger, createPgPool, createRedis } from '@lambdarec/clients';
import { eventTopicConfigEntries } from '@lambdarec/contracts';
import { WORKSPACE_ROOT } from '@lambdarec/local-stack';
import { removeKeys } from './redis-keys.js';

export type ServiceName = 'batch' | 'ingest' | 'speed' | 'serving';

export interface IsolatedServices {
  /** This system's own name: its database, the prefix of its topic, Redis keys and queue. */
  namespace: string;
  url: Record<ServiceName, string>;
  pid: Record<ServiceName, number>;
  secrets: { catalogKey: string; dashboardUser: string; dashboardPassword: string };
  stop(): Promise<void>;
}

/** A free loopback port, chosen by the kernel. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

export async function startIsolatedServices(
  infra: Record<string, string>,
  extraEnv: Record<string, string> = {},
): Promise<IsolatedServices> {
  const log = createLogger({ name: 'isolated-services', level: 'warn' });
  const run = `iso_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const adminPool = createPgPool({ url: infra['DATABASE_URL']!, log, applicationName: 'lambdarec-tools', max: 1 });
  await adminPool.query(`CREATE DATABASE ${run}`);
  const admin = createKafka({ brokers: infra['KAFKA_BROKERS']!.split(','), clientId: 'lambdarec-tools', log }).admin();
  await admin.connect();
  const topic = `${run}.events`;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [topic, `${topic}.dlq`].map((name) => ({
      topic: name,
      numPartitions: 3,
      replicationFactor: 1,
      configEntries: eventTopicConfigEntries(),
    })),
  });

  const secrets = {
    catalogKey: randomBytes(18).toString('base64url'),
    dashboardUser: 'tools',
    dashboardPassword: randomBytes(12).toString('base64url'),
  };
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '',
    LOG_LEVEL: 'error',
    DATABASE_URL: Object.assign(new URL(infra['DATABASE_URL']!), { pathname: `/${run}` }).toString(),
    REDIS_URL: infra['REDIS_URL']!,
    KAFKA_BROKERS: infra['KAFKA_BROKERS']!,
    EVENTS_TOPIC: topic,
    REDIS_KEY_PREFIX: `${run}:`,
    BATCH_QUEUE: `${run}-batch`,
    SPEED_GROUP_ID: `${run}-speed`,
    ARCHIVE_GROUP_ID: `${run}-archive`,
    CATALOG_API_KEY: secrets.catalogKey,
    DASHBOARD_USER: secrets.dashboardUser,
    DASHBOARD_PASSWORD: secrets.dashboardPassword,
    ...extraEnv,
  };

  const children: ChildProcess[] = [];
  const url = {} as Record<ServiceName, string>;
  const pid = {} as Record<ServiceName, number>;
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) =>
            child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')),
          ),
      ),
    );
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
    // The sessions, bot flags and rate-limit counters under the key prefix, and the queue's keys
    // (BullMQ's default "bull" prefix): nothing of this system stays in the shared Redis.
    const redis = createRedis({ url: infra['REDIS_URL']!, log, purpose: 'requests' });
    try {
      await removeKeys(redis, `${env['REDIS_KEY_PREFIX']}*`);
      await removeKeys(redis, `bull:${env['BATCH_QUEUE']}:*`);
    } catch (err) {
      log.warn({ err }, 'could not remove the Redis keys of the isolated services');
    } finally {
      await closeRedis(redis);
    }
    await adminPool.query(`DROP DATABASE IF EXISTS ${run} WITH (FORCE)`).catch(() => undefined);
    await adminPool.end();
  };
  try {
    // batch first: it migrates the database the others read.
    for (const name of ['batch', 'ingest', 'speed', 'serving'] as const) {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', `apps/${name}/src/main.ts`], {
        cwd: WORKSPACE_ROOT,
        env: { ...env, PORT: String(port) },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      children.push(child);
      url[name] = `http://127.0.0.1:${port}`;
      pid[name] = child.pid!;
      const deadline = Date.now() + 60_000;
      while (
        !(await fetch(`${url[name]}/readyz`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not become ready`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { namespace: run, url, pid, secrets, stop };
}
