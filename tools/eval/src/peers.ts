/**
 * The optional peer-library step (`npm run eval -- --peers`): trains the PyPI library `implicit`
 * as a reference, in a virtualenv of its own, through `tools/eval/peers/peers.py`.
 *
 * The exchange with Python is three files in a fresh temp folder: TRAIN.tsv
 * (`userId<TAB>productId<TAB>count`), USERS.txt (one userId a line) and OUT.json, which the script
 * writes. The pure parts (serialising, arguments, reading OUT.json) are exported for the tests.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type PeerModel = 'bm25' | 'als';

export interface PeerRequest {
  model: PeerModel;
  /** Model parameters by CLI name (see PEER_PARAMETERS); the script's defaults fill the rest. */
  params: Record<string, number>;
  train: ReadonlyArray<readonly [userId: string, productId: string, count: number]>;
  users: readonly string[];
  /** Items per user; 20 when left out. */
  top?: number;
}

export interface PeerRunner {
  /** Top items per user of `users` that appears in `train`; users not in `train` are left out. */
  recommend(request: PeerRequest): Promise<Map<string, string[]>>;
  /** Removes the temp folders that `recommend` made. */
  close(): Promise<void>;
}

export interface PeerRunnerOptions {
  /** Where the virtualenv lives; made on first use and reused after that. */
  venvDir: string;
  /** Parent of the temp folders that hold the exchange files. */
  workDir: string;
  /** The interpreter that makes the virtualenv; `python3` by default. */
  python?: string;
  log?: (line: string) => void;
}

export const IMPLICIT_VERSION = '0.7.3';

/**
 * What the virtualenv gets from PyPI. numpy and scipy are pinned too: ALS's numbers depend on
 * them, and a reference that moves with the day of the install is no reference. (numpy 2.4 needs
 * Python 3.11 or newer.)
 */
export const PEER_PACKAGES: Readonly<Record<string, string>> = {
  implicit: IMPLICIT_VERSION,
  numpy: '2.4.6',
  scipy: '1.17.1',
};

/** The parameters each model takes, by the script's option names. */
export const PEER_PARAMETERS: Readonly<Record<PeerModel, readonly string[]>> = {
  bm25: ['k', 'k1', 'b'],
  als: ['factors', 'regularization', 'iterations', 'alpha', 'seed'],
};

export const DEFAULT_PEER_TOP = 20;

const PEERS_SCRIPT = fileURLToPath(new URL('../peers/peers.py', import.meta.url));

/** Throws unless `id` can stand in one TSV field: not empty, no tab and no line break. */
function checkId(id: string, what: string): void {
  if (id.length === 0) throw new Error(`peers: empty ${what}`);
  if (/[\t\n\r]/.test(id)) throw new Error(`peers: ${what} ${JSON.stringify(id)} holds a tab or a line break`);
}

/** TRAIN.tsv: one `userId<TAB>productId<TAB>count` line per pair, each line ending in `\n`. */
export function serialiseTrain(train: PeerRequest['train']): string {
  const lines: string[] = [];
  for (const [userId, productId, count] of train) {
    checkId(userId, 'userId');
    checkId(productId, 'productId');
    if (!Number.isFinite(count) || count <= 0) {
      throw new Error(`peers: count for (${userId}, ${productId}) must be a finite number > 0, got ${count}`);
    }
    lines.push(`${userId}\t${productId}\t${count}\n`);
  }
  if (lines.length === 0) throw new Error('peers: no training rows');
  return lines.join('');
}

/** USERS.txt: one userId per line, each line ending in `\n`. */
export function serialiseUsers(users: readonly string[]): string {
  return users
    .map((userId) => {
      checkId(userId, 'userId');
      return `${userId}\n`;
    })
    .join('');
}

export interface PeerFiles {
  train: string;
  users: string;
  out: string;
}

/** The script's arguments (after the script path) for one request; rejects unknown parameters. */
export function peerArguments(request: Pick<PeerRequest, 'model' | 'params' | 'top'>, files: PeerFiles): string[] {
  const allowed = PEER_PARAMETERS[request.model] as readonly string[] | undefined;
  if (allowed === undefined) throw new Error(`peers: unknown model ${JSON.stringify(request.model)}: use bm25 or als`);
  const args = ['--train', files.train, '--users', files.users, '--out', files.out, '--model', request.model];
  for (const [name, value] of Object.entries(request.params)) {
    if (!allowed.includes(name)) {
      const takes = allowed.join(', ');
      throw new Error(`peers: ${request.model} takes no parameter ${JSON.stringify(name)} (it takes ${takes})`);
    }
    if (!Number.isFinite(value)) throw new Error(`peers: parameter ${name} must be a finite number, got ${value}`);
    args.push(`--${name}`, String(value));
  }
  const top = request.top ?? DEFAULT_PEER_TOP;
  if (!Number.isInteger(top) || top < 1) throw new Error(`peers: top must be a whole number >= 1, got ${top}`);
  args.push('--top', String(top));
  return args;
}

export interface PeerOutput {
  model: PeerModel;
  params: Record<string, number>;
  trainSeconds: number;
  recommendations: Map<string, string[]>;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads OUT.json, checking its shape: a malformed file is an error, not an empty answer. */
export function parsePeerOutput(text: string): PeerOutput {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`peers: OUT.json is not JSON: ${(error as Error).message}`);
  }
  if (!isRecord(data)) throw new Error('peers: OUT.json is not an object');
  const { model, params, trainSeconds, recommendations } = data;
  if (model !== 'bm25' && model !== 'als') throw new Error(`peers: OUT.json model is ${JSON.stringify(model)}`);
  if (!isRecord(params) || !Object.values(params).every((value) => typeof value === 'number')) {
    throw new Error('peers: OUT.json params must map names to numbers');
  }
  if (typeof trainSeconds !== 'number' || !Number.isFinite(trainSeconds)) {
    throw new Error('peers: OUT.json trainSeconds must be a number');
  }
  if (!isRecord(recommendations)) throw new Error('peers: OUT.json recommendations must be an object');
  const map = new Map<string, string[]>();
  for (const [userId, items] of Object.entries(recommendations)) {
    if (!Array.isArray(items) || !items.every((item) => typeof item === 'string')) {
      throw new Error(`peers: OUT.json recommendations for ${JSON.stringify(userId)} must be a list of productIds`);
    }
    map.set(userId, items as string[]);
  }
  return { model, params: params as Record<string, number>, trainSeconds, recommendations: map };
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with an argument array (no shell); rejects only when it cannot start. */
function run(command: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
  });
}

const isMissingProgram = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/** How a finished run ended, with the last lines it wrote to stderr. */
function describeExit(result: RunResult, lines = 15): string {
  const how = result.signal === null ? `exit code ${result.code}` : `signal ${result.signal}`;
  const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-lines).join('\n');
  return tail === '' ? how : `${how}:\n${tail}`;
}

/** The versions the venv imports, or null when it has no python or cannot import them all. */
async function installedVersions(venvPython: string): Promise<Record<string, string> | null> {
  const names = Object.keys(PEER_PACKAGES);
  const fields = names.map((name) => `'${name}': ${name}.__version__`).join(', ');
  const script = `import json, ${names.join(', ')}; print(json.dumps({${fields}}))`;
  try {
    const result = await run(venvPython, ['-c', script]);
    if (result.code !== 0) return null;
    const versions: unknown = JSON.parse(result.stdout);
    return isRecord(versions) ? (versions as Record<string, string>) : null;
  } catch {
    return null;
  }
}

const matchesPins = (versions: Record<string, string> | null): boolean =>
  versions !== null && Object.entries(PEER_PACKAGES).every(([name, version]) => versions[name] === version);

/** Makes (or reuses) the virtualenv with `implicit` in it, and gives a runner of peers.py. */
export async function createPeerRunner(options: PeerRunnerOptions): Promise<PeerRunner> {
  const { venvDir, workDir } = options;
  const python = options.python ?? 'python3';
  const log = options.log ?? (() => {});
  const venvPython = join(venvDir, 'bin', 'python');
  const requirements = Object.entries(PEER_PACKAGES).map(([name, version]) => `${name}==${version}`);

  if (matchesPins(await installedVersions(venvPython))) {
    log(`peers: reusing the virtualenv at ${venvDir} (${requirements.join(' ')})`);
  } else {
    log(`peers: making a virtualenv at ${venvDir} with ${python} -m venv`);
    let made: RunResult;
    try {
      made = await run(python, ['-m', 'venv', venvDir]);
    } catch (error) {
      throw new Error(
        isMissingProgram(error)
          ? `peers: ${python} not found: install Python 3.11 or newer with its venv module ` +
              `(Debian/Ubuntu: apt-get install python3 python3-venv), or pass the python option`
          : `peers: ${python} -m venv could not start: ${(error as Error).message}`,
      );
    }
    if (made.code !== 0) {
      throw new Error(
        `peers: ${python} -m venv ${venvDir} failed (${describeExit(made)})\n` +
          `Fix: install the venv module (Debian/Ubuntu: apt-get install python3-venv); ` +
          `if ${venvDir} is a broken leftover, delete it and run again.`,
      );
    }

    log(`peers: pip install ${requirements.join(' ')} from PyPI (once; about 10 s on a fast network)`);
    const started = Date.now();
    const installed = await run(venvPython, [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--prefer-binary',
      ...requirements,
    ]);
    if (installed.code !== 0) {
      throw new Error(
        `peers: pip install ${requirements.join(' ')} failed (${describeExit(installed)})\n` +
          `Fix: check that PyPI is reachable (proxy, pip.conf) and that ${python} is 3.11 or newer ` +
          `(numpy ${PEER_PACKAGES['numpy']} needs it); delete ${venvDir} to start over.`,
      );
    }
    const versions = await installedVersions(venvPython);
    if (!matchesPins(versions)) {
      throw new Error(
        `peers: after pip install, ${venvPython} imports ${JSON.stringify(versions)} instead of ` +
          `${requirements.join(' ')}. Fix: delete ${venvDir} and run again.`,
      );
    }
    log(`peers: installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  const folders: string[] = [];
  let closed = false;

  return {
    async recommend(request) {
      if (closed) throw new Error('peers: the runner is closed');
      // Checks the request before any file is written: a bad parameter fails here, not in Python.
      peerArguments(request, { train: '', users: '', out: '' });
      const train = serialiseTrain(request.train);
      const users = serialiseUsers(request.users);

      await mkdir(workDir, { recursive: true });
      const folder = await mkdtemp(join(workDir, `peers-${request.model}-`));
      folders.push(folder);
      const files: PeerFiles = {
        train: join(folder, 'TRAIN.tsv'),
        users: join(folder, 'USERS.txt'),
        out: join(folder, 'OUT.json'),
      };
      await writeFile(files.train, train);
      await writeFile(files.users, users);

      const args = peerArguments(request, files);
      const settings = Object.entries(request.params).map(([name, value]) => `${name}=${value}`);
      settings.push(`top=${request.top ?? DEFAULT_PEER_TOP}`);
      log(`peers: ${request.model} (${settings.join(', ')}) on ${request.train.length} pairs`);
      let result: RunResult;
      try {
        result = await run(venvPython, [PEERS_SCRIPT, ...args]);
      } catch (error) {
        throw new Error(`peers: ${venvPython} could not start: ${(error as Error).message}`);
      }
      if (result.code !== 0) {
        throw new Error(`peers: peers.py --model ${request.model} failed (${describeExit(result, 40)})`);
      }
      for (const line of result.stderr.split('\n')) if (line.trim() !== '') log(line);

      const output = parsePeerOutput(await readFile(files.out, 'utf8'));
      if (output.model !== request.model) {
        throw new Error(`peers: asked for ${request.model}, OUT.json holds ${output.model}`);
      }
      return output.recommendations;
    },

    async close() {
      closed = true;
      const made = folders.splice(0);
      await Promise.all(made.map((folder) => rm(folder, { recursive: true, force: true })));
    },
  };
}
