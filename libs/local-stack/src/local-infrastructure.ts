import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKSPACE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The script that starts, stops and describes the local services. */
export const LOCAL_SH = path.join(WORKSPACE_ROOT, 'infra/local.sh');

/**
 * Starts the local infrastructure (infra/local.sh up: Postgres, Redis and Kafka on loopback,
 * installing what is missing) and reads its connection variables (infra/local.sh env).
 */
export function localInfrastructure(): Record<string, string> {
  execFileSync('bash', [LOCAL_SH, 'up'], { cwd: WORKSPACE_ROOT, stdio: 'inherit' });
  return parseInfraEnv(execFileSync('bash', [LOCAL_SH, 'env'], { cwd: WORKSPACE_ROOT, encoding: 'utf8' }));
}

/** The connection variables in the output of `infra/local.sh env` (`export NAME="value"` lines). */
export function parseInfraEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^(?:export\s+)?([A-Z_]+)=["']?(.*?)["']?$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}

/**
 * Whether the single-node Kafka of infra/local.sh is running: it holds 59092 and 59093, two of the
 * cluster's broker ports. (`status` exits 3 when anything is down, so its output is what counts.)
 */
export function localKafkaRunning(): boolean {
  const { stdout } = spawnSync('bash', [LOCAL_SH, 'status'], { cwd: WORKSPACE_ROOT, encoding: 'utf8' });
  return /^kafka\s+up/m.test(stdout ?? '');
}
