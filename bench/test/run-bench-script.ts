import { spawn } from 'node:child_process';
import path from 'node:path';
import { WORKSPACE_ROOT } from '@lambdarec/local-stack';

/** Runs a bench script (a path from the workspace root) as `npm run` would, with extra env; gives its exit code and all its output. */
export function runBenchScript(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(WORKSPACE_ROOT, script), ...args], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}
