import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

/** A PostgreSQL server of a test's own, to stop, kill and start again (fault injection). */
export interface PrivatePostgres {
  url: string;
  /** Starts the server (again) on the same port and data. */
  start(): void;
  /** Stops it the hard way: the postmaster and every backend die at once, as in a crash. */
  kill(): void;
  /** Stops it and deletes its data. */
  remove(): void;
}

/** Whether a PostgreSQL server binary from Debian's packages is installed (infra/local.sh installs it). */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin/postgres')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

/**
 * initdb and pg_ctl refuse to run as root, so as root the cluster belongs to the `postgres` user,
 * in a folder under the system temp directory that it can enter.
 */
export function createPrivatePostgres(port: number): PrivatePostgres {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL is not installed (npm run infra:up installs it)');
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'lrec-pg-'));
  chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  const owner = asRoot ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })) : undefined;
  if (owner !== undefined) chownSync(dir, owner, owner);
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? (['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const) : ([cmd, args] as const);
    const result = spawnSync(full[0], full[1], { cwd: '/', encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr || result.stdout}`);
  };
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, 'private\n', { mode: 0o600 });
  if (owner !== undefined) chownSync(pwfile, owner, owner);
  run(path.join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'lambdarec',
    `--pwfile=${pwfile}`,
    '--auth-host=scram-sha-256',
    '--auth-local=trust',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
  ]);
  const pg = {
    url: `postgres://lambdarec:private@127.0.0.1:${port}/postgres`,
    start() {
      run(path.join(bin, 'pg_ctl'), [
        'start',
        '-D',
        data,
        '-l',
        path.join(dir, 'log'),
        '-w',
        '-t',
        '30',
        '-s',
        '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir}`,
      ]);
    },
    kill() {
      // "immediate": no checkpoint, backends killed: what a crash or an OOM kill leaves.
      run(path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '30', '-s']);
    },
    remove() {
      spawnSync(
        asRoot ? 'runuser' : path.join(bin, 'pg_ctl'),
        asRoot
          ? ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), 'stop', '-D', data, '-m', 'immediate', '-s']
          : ['stop', '-D', data, '-m', 'immediate', '-s'],
        {
          cwd: '/',
        },
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
  pg.start();
  return pg;
}
