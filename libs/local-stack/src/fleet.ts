import { spawn, type ChildProcess } from 'node:child_process';
import { WORKSPACE_ROOT } from './local-infrastructure.js';

/** One process of one app: `serving-2` is the app `serving` on its own port. */
export interface ServiceInstance {
  /** Unique in the fleet, shown in front of each of its log lines. */
  name: string;
  app: 'ingest' | 'speed' | 'batch' | 'serving' | 'storefront';
  port: number;
  /** Added to the fleet's environment for this instance only. */
  env?: Record<string, string>;
}

export interface Fleet {
  readonly instances: readonly ServiceInstance[];
  /** Starts every instance that is not running. */
  startAll(): void;
  /** Starts one instance again (after a kill); a running one is left alone. */
  start(name: string): void;
  /** Sends a signal to one instance and waits for it to be gone. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Whether the instance's process is alive. */
  running(name: string): boolean;
  pid(name: string): number | undefined;
  /** Resolves when every named instance (all by default) answers 200 on /readyz. */
  ready(names?: readonly string[], timeoutMs?: number): Promise<void>;
  /** SIGTERM to every instance (each finishes its close), resolved when all have exited. */
  stopAll(): Promise<void>;
  url(name: string): string;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'ERROR', 60: 'FATAL' };

/** A JSON log line of a service, shortened for a person at a terminal; other lines as they are. */
export function shortLogLine(line: string): string {
  try {
    const {
      level,
      msg,
      err,
      time: _t,
      service: _s,
      name: _n,
      pid: _p,
      hostname: _h,
      ...rest
    } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    const error = err ? ` ${(err as { message?: string }).message ?? ''}` : '';
    return `${LEVELS[level as number] ?? String(level)} ${String(msg)}${error}${extra.length > 300 ? `${extra.slice(0, 300)}…` : extra}`;
  } catch {
    return line;
  }
}

/**
 * The apps of this checkout as processes on loopback (`node --import tsx apps/<app>/src/main.ts`),
 * several instances of an app each on its own port. Each runs in its own process group, so a
 * Ctrl-C reaches only the caller, which then stops each instance once with SIGTERM (a second
 * signal would make a service exit without finishing its close). `onExit` hears of every exit the
 * fleet did not ask for: `npm start` stops the rest, the chaos run counts it as a fault.
 */
export function createFleet({
  instances,
  env,
  say,
  onExit,
  root = WORKSPACE_ROOT,
}: {
  instances: readonly ServiceInstance[];
  env: Record<string, string>;
  /** Where the instances' log lines go, shortened and labelled. */
  say: (line: string) => void;
  onExit?: (name: string, reason: string) => void;
  root?: string;
}): Fleet {
  const byName = new Map(instances.map((instance) => [instance.name, instance]));
  const width = Math.max(...instances.map(({ name }) => name.length));
  const children = new Map<string, ChildProcess>();
  const expectedExits = new Set<string>();

  const instance = (name: string): ServiceInstance => {
    const found = byName.get(name);
    if (found === undefined) throw new Error(`no instance named ${name} in this fleet`);
    return found;
  };
  const alive = (child: ChildProcess | undefined): child is ChildProcess =>
    child !== undefined && child.exitCode === null && child.signalCode === null;

  function relay(name: string, stream: NodeJS.ReadableStream) {
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') say(`[${name.padEnd(width)}] ${shortLogLine(line)}`);
    });
  }

  function start(name: string) {
    const { app, port, env: own } = instance(name);
    if (alive(children.get(name))) return;
    const child = spawn(process.execPath, ['--import', 'tsx', `apps/${app}/src/main.ts`], {
      cwd: root,
      env: { ...env, ...own, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    relay(name, child.stdout!);
    relay(name, child.stderr!);
    child.on('exit', (code, signal) => {
      if (expectedExits.delete(name)) return;
      onExit?.(name, String(signal ?? code));
    });
    children.set(name, child);
  }

  async function kill(name: string, signal: NodeJS.Signals = 'SIGKILL') {
    const child = children.get(name);
    if (!alive(child)) return;
    expectedExits.add(name);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  const url = (name: string) => `http://127.0.0.1:${instance(name).port}`;

  // Should the caller die some other way, its services go with it.
  process.on('exit', () => {
    for (const child of children.values()) if (alive(child)) child.kill('SIGTERM');
  });

  return {
    instances,
    startAll: () => instances.forEach(({ name }) => start(name)),
    start,
    kill,
    running: (name) => alive(children.get(name)),
    pid: (name) => children.get(name)?.pid,
    url,
    async ready(names = instances.map(({ name }) => name), timeoutMs = 120_000) {
      await Promise.all(
        names.map((name) =>
          until(`${name} to be ready`, async () => ((await fetch(`${url(name)}/readyz`)).ok ? true : undefined), timeoutMs),
        ),
      );
    },
    async stopAll() {
      await Promise.all(instances.map(({ name }) => kill(name, 'SIGTERM')));
    },
  };
}

/** Polls `check` every 250 ms until it gives a value (a throw counts as "not yet"), or fails after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
