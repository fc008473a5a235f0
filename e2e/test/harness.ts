import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { uniqueName } from '@lambdarec/testing';

export const WORKSPACE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type AppName = 'ingest' | 'speed' | 'batch' | 'serving' | 'storefront';

export interface RunningService<Name extends AppName = AppName> {
  name: Name;
  url: string;
  process: ChildProcess;
  output: () => string;
  /** SIGTERM, then the exit code once the process is gone. */
  stop(): Promise<number | null>;
}

/**
 * The environment of one test file's services: its own database, topic, Redis key prefix, BullMQ
 * queue and consumer groups (named after `name`), the operators' credentials, and a quick batch
 * view refresh. `extra` adds or overrides variables.
 */
export function isolatedServicesEnv(
  name: string,
  { databaseUrl, redisUrl, kafkaBrokers, topic }: { databaseUrl: string; redisUrl: string; kafkaBrokers: readonly string[]; topic: string },
  { dashboard, catalogApiKey }: { dashboard: { user: string; password: string }; catalogApiKey: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  const unique = (what: string) => uniqueName(`${name}-${what}`);
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    KAFKA_BROKERS: kafkaBrokers.join(','),
    EVENTS_TOPIC: topic,
    REDIS_KEY_PREFIX: `${unique('keys')}:`,
    BATCH_QUEUE: unique('batch'),
    SPEED_GROUP_ID: unique('speed'),
    ARCHIVE_GROUP_ID: unique('archive'),
    BATCH_VIEW_REFRESH_MS: '200',
    DASHBOARD_USER: dashboard.user,
    DASHBOARD_PASSWORD: dashboard.password,
    CATALOG_API_KEY: catalogApiKey,
    ...extra,
  };
}

/** A free loopback port (the OS picks it; the small race with other processes is acceptable in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

/** Starts an app the way operators do (`node --import tsx apps/<name>/src/main.ts`), with only the given environment. */
export function spawnService(
  name: AppName,
  env: Record<string, string>,
): { process: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', `apps/${name}/src/main.ts`], {
    cwd: WORKSPACE_ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { process: child, output: () => output, exited: exited(child) };
}

/**
 * Starts an app on a free port and waits until it is ready. `port` is for an app whose address
 * others must know before it starts (the storefront's origin in ingest's STOREFRONT_ORIGINS).
 */
export async function startService<Name extends AppName>(
  name: Name,
  env: Record<string, string>,
  { port }: { port?: number } = {},
): Promise<RunningService<Name>> {
  const listenPort = port ?? (await freePort());
  const { process: child, output, exited: done } = spawnService(name, { ...env, PORT: String(listenPort) });
  const url = `http://127.0.0.1:${listenPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} during start:\n${output()}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not become ready in 60 s:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    name,
    url,
    process: child,
    output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return done;
    },
  };
}

/** Runs a tool the way `npm run <tool>` does, with only the given environment. */
export function runTool(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: WORKSPACE_ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}
