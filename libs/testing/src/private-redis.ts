import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRedis } from '@lambdarec/clients';
import { restartablePort, waitFor } from './isolation.js';
import { testLogger } from './test-logger.js';

/** Whether this machine has the Debian redis-server that infra/local.sh installs. */
export const redisServerInstalled = (): boolean => spawnSync('redis-server', ['--version']).status === 0;

/** A Redis of a test's own, to kill and start again (fault injection); the shared one serves every other test. */
export interface PrivateRedis {
  port: number;
  url: string;
  /** Starts the server (again) on the same port and folder, and waits until it answers. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown, so an append-only file keeps only what it had flushed. */
  kill(): Promise<void>;
  remove(): Promise<void>;
}

/**
 * `persistence`: `aof` writes every command to the append-only file before answering (a restart
 * loses nothing); `none` keeps nothing, so a restart comes back empty with a new run id.
 */
export function createPrivateRedis({ persistence }: { persistence: 'aof' | 'none' }): PrivateRedis {
  const port = restartablePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'lrec-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const log = testLogger('private-redis');
  const args = persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  let server: ChildProcess | undefined;
  const kill = async () => {
    if (server === undefined || server.exitCode !== null || server.signalCode !== null) return;
    const stopped = new Promise((resolve) => server?.once('exit', resolve));
    server.kill('SIGKILL');
    await stopped;
  };
  return {
    port,
    url,
    async start() {
      server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...args], {
        stdio: 'ignore',
      });
      const probe = createRedis({ url, log, purpose: 'requests' });
      try {
        await waitFor(() => probe.ping().then((pong) => (pong === 'PONG' ? true : undefined)), {
          what: 'the private redis',
          timeoutMs: 10_000,
        });
      } finally {
        probe.disconnect();
      }
    },
    kill,
    async remove() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
