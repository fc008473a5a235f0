/**
 * `npm run eval -- [file] [--peers] [--tune] [--users N] [--seed N] [--out DIR]`: offline quality
 * of lambdarec on a history in the UCI Online Retail layout (by default the shared dataset, read
 * in place and never copied), against in-run baselines and optionally the `implicit` library.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadOnlineRetail } from './dataset.js';
import { createPeerRunner, type PeerRunner } from './peers.js';
import { createProgress, type Progress } from './progress.js';
import { PROTOCOLS } from './protocols.js';
import { renderHitCurveSvg, renderMarkdown } from './report.js';
import { LAMBDAREC_BATCH, LAMBDAREC_SESSION, runEval } from './run-eval.js';

const started = performance.now();
const root = fileURLToPath(new URL('../../../', import.meta.url));
const say = (line: string) => process.stdout.write(`${line}\n`);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    peers: { type: 'boolean', default: false },
    tune: { type: 'boolean', default: false },
    users: { type: 'string' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string', default: path.join(root, 'reports/eval') },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  say('npm run eval -- [file.csv[.gz]] [--peers] [--tune] [--users N] [--seed N] [--out DIR]');
  process.exit(0);
}

const file = path.resolve(
  positionals[0] ?? process.env['ONLINE_RETAIL_CSV'] ?? path.join(root, '../shared/datasets/online-retail/online_retail.csv.gz'),
);
if (!existsSync(file)) {
  process.stderr.write(`eval: no dataset at ${file}; pass a file in the UCI Online Retail layout (CSV, optionally gzip)\n`);
  process.exit(2);
}
const positiveInt = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`eval: --${name} must be a positive integer, not ${text}\n`);
    process.exit(2);
  }
  return n;
};
const seed = positiveInt('seed', values.seed)!;
const sampleUsers = positiveInt('users', values.users);

const bars = new Map<string, Progress>();
const progress = (label: string) => {
  let bar = bars.get(label);
  if (bar === undefined) bars.set(label, (bar = createProgress(label, process.stderr)));
  return bar;
};

say(`eval: reading ${file}`);
const { lines, stats } = await loadOnlineRetail(file, { onProgress: (f) => progress('reading').update(f) });
progress('reading').done();
say(`eval: ${stats.rows} rows, ${stats.kept} clean purchase lines, ${stats.customers} customers, ${stats.products} products`);

let peers: PeerRunner | undefined;
if (values.peers) {
  say('eval: preparing the peer library (a Python virtualenv with implicit, made once under .local/eval-venv)');
  peers = await createPeerRunner({ venvDir: path.join(root, '.local/eval-venv'), workDir: path.join(root, '.local/eval-work'), log: say });
}
try {
  const report = await runEval(lines, stats, path.relative(root, file), {
    seed,
    sampleUsers,
    tune: values.tune,
    peers,
    onProgress: (label, f) => progress(label).update(f),
    onStepDone: (label) => {
      const bar = bars.get(label);
      if (bar !== undefined) {
        bar.done();
        bars.delete(label);
      } else say(`eval: ${label}`);
    },
    log: say,
  });
  report.wallSeconds = (performance.now() - started) / 1000;
  await mkdir(values.out!, { recursive: true });
  const markdown = renderMarkdown(report, PROTOCOLS, LAMBDAREC_SESSION, LAMBDAREC_BATCH);
  await writeFile(path.join(values.out!, 'report.md'), markdown);
  await writeFile(path.join(values.out!, 'hit-at-k.svg'), renderHitCurveSvg(report.test, PROTOCOLS));
  await writeFile(path.join(values.out!, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  say('');
  say(markdown.split('## Validation window')[0]!.trim());
  say('');
  const intervals = markdown.indexOf('## Paired intervals');
  if (intervals >= 0) say(markdown.slice(intervals, markdown.indexOf('\n## ', intervals + 1)).trim());
  say('');
  say(`eval: wall time ${report.wallSeconds.toFixed(0)} s`);
  say(`eval: wrote ${path.relative(process.cwd(), path.join(values.out!, 'report.md'))}, hit-at-k.svg and results.json`);
} finally {
  await peers?.close();
}
