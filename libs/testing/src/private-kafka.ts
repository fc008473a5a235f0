import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from './isolation.js';

const WORKSPACE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A single-node Kafka broker of a test's own, to kill and start again (fault injection). */
export interface PrivateKafka {
  brokers: string[];
  /** Starts the broker (again) on the same ports and data, and waits until it serves metadata. */
  start(): Promise<void>;
  /**
   * Stops the JVM with SIGSTOP: its sockets stay open and nothing answers, as in a long GC pause
   * or an overloaded host (a killed broker refuses connections instead). `resume` continues it.
   */
  pause(): void;
  resume(): void;
  /** Kills the JVM with SIGKILL: no controlled shutdown, as in a crash. */
  kill(): Promise<void>;
  remove(): Promise<void>;
}

/** Whether every thread of a process is stopped (Linux /proc; elsewhere, assumed at once). */
function allThreadsStopped(pid: number): boolean {
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return true;
  try {
    // The state follows the command name, which is in parentheses and may hold spaces.
    return readdirSync(tasks).every((task) => /\)\s+[tT]\s/.test(readFileSync(path.join(tasks, task, 'stat'), 'utf8')));
  } catch {
    return false;
  }
}

/** The jars infra/local.sh downloaded (`npm run infra:up`), or undefined when there are none yet. */
export function kafkaLibsDir(): string | undefined {
  const pom = readFileSync(path.join(WORKSPACE_ROOT, 'infra/pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  const local = process.env['LREC_LOCAL_DIR'] ?? path.join(WORKSPACE_ROOT, '.local');
  const dir = version === undefined ? undefined : path.join(local, 'kafka/libs', version);
  return dir !== undefined && existsSync(dir) ? dir : undefined;
}

export interface PrivateKafkaOptions {
  /**
   * Broker settings over the project's (a later line wins in a properties file), for example a
   * retention check every second instead of every 5 minutes.
   */
  brokerConfig?: Record<string, string>;
}

/**
 * The project's broker configuration (infra/kafka/server.properties) on other ports and a data
 * folder of its own, formatted once (KRaft, standalone controller).
 */
export function createPrivateKafka(port: number, controllerPort: number, { brokerConfig = {} }: PrivateKafkaOptions = {}): PrivateKafka {
  const libs = kafkaLibsDir();
  if (libs === undefined) throw new Error('the Kafka jars are missing: npm run infra:up downloads them');
  const dir = mkdtempSync(path.join(tmpdir(), 'lrec-kafka-'));
  const conf = path.join(dir, 'server.properties');
  const logs = path.join(dir, 'logs');
  mkdirSync(logs);
  writeFileSync(
    conf,
    readFileSync(path.join(WORKSPACE_ROOT, 'infra/kafka/server.properties'), 'utf8')
      .replaceAll('127.0.0.1:59092', `127.0.0.1:${port}`)
      .replaceAll('127.0.0.1:59093', `127.0.0.1:${controllerPort}`)
      // The setting itself, not the first mention of the placeholder (the header comment has one).
      .replace(/^log\.dirs=.*$/m, `log.dirs=${path.join(dir, 'data')}`) +
      Object.entries(brokerConfig)
        .map(([name, value]) => `\n${name}=${value}`)
        .join(''),
  );
  const java = (args: string[]) =>
    execFileSync('java', ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', `${libs}/*`, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const clusterId = java(['kafka.tools.StorageTool', 'random-uuid']).trim().split('\n').pop()!;
  java(['kafka.tools.StorageTool', 'format', '--cluster-id', clusterId, '--config', conf, '--standalone']);

  const brokers = [`127.0.0.1:${port}`];
  let jvm: ChildProcess | undefined;
  const stopped = () =>
    new Promise<void>((resolve) =>
      jvm === undefined || jvm.exitCode !== null || jvm.signalCode !== null ? resolve() : jvm.once('exit', () => resolve()),
    );
  return {
    brokers,
    async start() {
      jvm = spawn(
        'java',
        [
          '-Xms128m',
          '-Xmx384m',
          '-XX:+UseG1GC',
          '-Djava.awt.headless=true',
          `-Dkafka.logs.dir=${logs}`,
          `-Dlog4j2.configurationFile=${path.join(WORKSPACE_ROOT, 'infra/kafka/log4j2.properties')}`,
          '-cp',
          `${libs}/*`,
          'kafka.Kafka',
          conf,
        ],
        { stdio: 'ignore' },
      );
      const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
      try {
        await waitFor(
          async () => {
            if (jvm?.exitCode !== null) throw new Error('the private broker exited during start-up');
            await admin.connect();
            await admin.describeCluster();
            return true;
          },
          { what: `the private broker on ${brokers[0]}`, timeoutMs: 60_000, intervalMs: 250 },
        );
      } finally {
        await admin.disconnect();
      }
    },
    pause() {
      if (jvm?.pid === undefined || !jvm.kill('SIGSTOP')) return;
      // kill() returns before every thread has stopped: on a busy host a network thread may still
      // answer a request sent just after. Wait (a few ms) until all of them are stopped.
      const deadline = Date.now() + 5_000;
      while (!allThreadsStopped(jvm.pid) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    },
    resume() {
      jvm?.kill('SIGCONT');
    },
    async kill() {
      const exited = stopped();
      jvm?.kill('SIGKILL');
      await exited;
    },
    async remove() {
      const exited = stopped();
      // A paused JVM dies from SIGKILL as well.
      jvm?.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
