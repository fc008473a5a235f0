import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKSPACE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Starts the local infrastructure (infra/local.sh up: Postgres, Redis and Kafka on loopback,
 * installing what is missing) and reads its connection variables (infra/local.sh env).
 */
export function localInfrastructure(): Record<string, string> {
  execFileSync('bash', [path.join(WORKSPACE_ROOT, 'infra/local.sh'), 'up'], { cwd: WORKSPACE_ROOT, stdio: 'inherit' });
  return Object.fromEntries(
    execFileSync('bash', [path.join(WORKSPACE_ROOT, 'infra/local.sh'), 'env'], { cwd: WORKSPACE_ROOT, encoding: 'utf8' })
      .split('\n')
      .map((line) => /^(?:export\s+)?([A-Z_]+)=["']?(.*?)["']?$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}
