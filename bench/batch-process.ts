import { spawn, type ChildProcess } from 'node:child_process';
import { WORKSPACE_ROOT } from '@lambdarec/local-stack';
import { freePort } from '@lambdarec/testing';

/**
 * The batch service as a process, the way production runs it, on a free port with only the given
 * environment (plus PATH and HOME), once it answers /healthz. Its log goes to the bench's output.
 */
export async function startBatchProcess(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  // BENCH_CPU_PROF=<dir>: each batch process writes a V8 CPU profile there when it exits (node
  // refuses --cpu-prof in NODE_OPTIONS, and the bench gives its children only the env above).
  const profileDir = process.env['BENCH_CPU_PROF'];
  const profile = profileDir === undefined || profileDir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'apps/batch/src/main.ts'], {
    cwd: WORKSPACE_ROOT,
    // BENCH_LOG_LEVEL=info shows each shard's log line (its time and the process's peak RSS so far).
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] || 'warn',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the batch service did not start');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, child };
}
