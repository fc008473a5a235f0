/**
 * `npm run fuzz -- [--max-examples N] [--seed N] [--only ingest,serving,batch]`: schema-driven
 * fuzzing of the three HTTP APIs from their own OpenAPI documents, with schemathesis (PyPI) in a
 * virtualenv under .local/. The services run as processes against the local infrastructure, on a
 * database, topic, queue and key prefix of their own, which are removed afterwards. The check is
 * `not_a_server_error`: whatever a client sends, no 5xx. Exit code 0 only if every API passes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { localInfrastructure, WORKSPACE_ROOT as root } from '@lambdarec/local-stack';
import { startIsolatedServices, type ServiceName } from '@lambdarec/testing';

const say = (line: string) => process.stdout.write(`${line}\n`);
const SCHEMATHESIS = 'schemathesis==4.32.5';

const { values } = parseArgs({
  options: {
    'max-examples': { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string', default: 'ingest,serving,batch' },
  },
});
const maxExamples = Number(values['max-examples']);
const seed = Number(values.seed);
const targets = values.only!.split(',').map((t) => t.trim());
if (
  !Number.isInteger(maxExamples) ||
  maxExamples < 1 ||
  !Number.isInteger(seed) ||
  targets.some((t) => !['ingest', 'serving', 'batch'].includes(t))
) {
  process.stderr.write('fuzz: --max-examples and --seed take positive integers; --only a comma list of ingest, serving, batch\n');
  process.exit(2);
}

/** The virtualenv with schemathesis, made once and reused while it imports. */
function schemathesis(): string {
  const venv = path.join(root, '.local/fuzz-venv');
  const st = path.join(venv, 'bin/st');
  if (!existsSync(st)) {
    say(`▶ virtualenv with ${SCHEMATHESIS} (once, under .local/fuzz-venv)`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(path.join(venv, 'bin/pip'), ['install', '--quiet', '--disable-pip-version-check', SCHEMATHESIS], { stdio: 'inherit' });
  }
  return st;
}

say('▶ infrastructure');
const infra = localInfrastructure();
const st = schemathesis();
const services = await startIsolatedServices(infra);
let failed = 0;
try {
  for (const target of targets as ServiceName[]) {
    const base = services.url[target];
    const { catalogKey, dashboardUser, dashboardPassword } = services.secrets;
    const auth =
      target === 'ingest'
        ? ['-H', `Authorization: Bearer ${catalogKey}`]
        : target === 'batch'
          ? ['--auth', `${dashboardUser}:${dashboardPassword}`]
          : [];
    say(`\n▶ ${target}: ${base}/docs/json, ${maxExamples} examples per operation, seed ${seed}`);
    const result = await new Promise<number | null>((resolve) => {
      const child = spawn(
        st,
        [
          'run',
          `${base}/docs/json`,
          '--url',
          base,
          '--checks',
          'not_a_server_error',
          '--max-examples',
          String(maxExamples),
          '--seed',
          String(seed),
          ...auth,
        ],
        {
          // schemathesis keeps a cache in .schemathesis/ of its working directory: not in the repository.
          cwd: path.join(root, '.local'),
          stdio: 'inherit',
        },
      );
      child.on('exit', resolve);
    });
    if (result !== 0) failed++;
    say(`▶ ${target}: ${result === 0 ? 'no server error' : `schemathesis exited with ${result}`}`);
  }
} finally {
  await services.stop();
}
say(`\nfuzz: ${targets.length - failed} of ${targets.length} APIs without a server error`);
process.exitCode = failed === 0 ? 0 : 1;
