/** The eval's outputs: a markdown report and an SVG plot of HR@k, both plain text, both pure. */
import type { BeyondAccuracy } from './beyond-accuracy.js';
import type { Interval } from './bootstrap.js';
import type { AcrossOrigins, WindowOrigins } from './origins.js';
import type { Scores } from './metrics.js';
import type { ProtocolName } from './protocols.js';

export interface VariantResult {
  variant: string;
  protocol: ProtocolName;
  cases: number;
  scores: Scores;
  /** HR@1 … HR@20. */
  hitCurve: number[];
  /** Coverage, popularity, diversity and novelty of the top-10 lists. */
  beyond?: BeyondAccuracy;
}

/** A paired difference `a − b` over the same customers, with its bootstrap interval. */
export interface PairedComparison {
  protocol: ProtocolName;
  kind: 'difference' | 'session uplift';
  a: string;
  b: string;
  cases: number;
  hit: Interval;
  ndcg: Interval;
}

/** The batch view re-ranked at one diversity λ: its accuracy and its lists' diversity. */
export interface DiversityPoint {
  lambda: number;
  hit: number;
  ndcg: number;
  /** Mean over lists of the share of pairs in a top 10 whose categories differ (as in the tables). */
  diversity: number;
  /** Share of the top 10s' products among the training window's most popular 5 % (as in the tables). */
  popularShare: number;
}

/** Accuracy against diversity: one variant on one protocol, its answer re-ranked by MMR by category. */
export interface DiversityCurve {
  /** What the re-rank spreads: the products' categories, or popular products against the rest. */
  by: 'category' | 'popularity';
  /** The window whose next baskets it scores. @defaultValue 'test' */
  window?: 'test' | 'validation';
  variant: string;
  protocol: ProtocolName;
  cases: number;
  /** How many of the answer's items the re-rank chooses from. */
  candidates: number;
  points: DiversityPoint[];
}

export interface EvalReport {
  dataset: { file: string; rows: number; kept: number; customers: number; products: number; invoices: number };
  seed: number;
  sampleUsers: number | null;
  splits: Array<{ name: string; cutoff: string; end: string; trainBaskets: number; customers: number }>;
  /** Results on the test window. */
  test: VariantResult[];
  validation: VariantResult[];
  /** What tuning on the validation window chose, when it ran. */
  tuning?: { settings: string; scores: string } | undefined;
  /** Peer library parameters chosen on the validation window. */
  peers?: Record<string, string> | undefined;
  /** The paper baselines' settings chosen on the validation window. */
  baselines?: Record<string, string>;
  baselineTuningSeconds?: number;
  /** Paired intervals on the test window. */
  comparisons?: PairedComparison[];
  bootstrap?: { resamples: number; seed: number; confidence: number };
  /** Accuracy against diversity on the test window. */
  diversityCurve?: DiversityCurve;
  /** The same re-rank with "popular" as the only category: what a lower popularity share costs. */
  popularityCurve?: DiversityCurve;
  /** The category curve on the validation window, where a default for DIVERSITY may be chosen. */
  validationDiversityCurve?: DiversityCurve;
  /** The next basket asked month by month: over the test window, and before it up to the validation cutoff's month. */
  origins?: { test: WindowOrigins; validation: WindowOrigins };
  /** Wall time of the whole `npm run eval`, reading included (set by main). */
  wallSeconds?: number;
  notes: string[];
}

const f3 = (x: number) => x.toFixed(3);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;

function table(results: readonly VariantResult[], protocol: ProtocolName): string[] {
  const rows = results.filter((r) => r.protocol === protocol);
  if (rows.length === 0) return [];
  const out = [
    '| variant | cases | HR@10 | recall@10 | NDCG@10 | coverage | popular share | diversity | novelty |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const b = r.beyond;
    const beyond =
      b === undefined ? '– | – | – | –' : `${f3(b.coverage)} | ${f3(b.popularShare)} | ${f3(b.diversity)} | ${b.novelty.toFixed(2)}`;
    out.push(`| ${r.variant} | ${r.cases} | ${f3(r.scores.hit)} | ${f3(r.scores.recall)} | ${f3(r.scores.ndcg)} | ${beyond} |`);
  }
  return out;
}

/** `+0.012 [−0.004, +0.029]`, starred when the interval leaves 0 out. */
export function formatInterval(interval: Interval): string {
  const excludesZero = interval.low > 0 || interval.high < 0;
  return `${signed(interval.mean)} [${signed(interval.low)}, ${signed(interval.high)}]${excludesZero ? ' *' : ''}`;
}

function comparisonTables(comparisons: readonly PairedComparison[], protocols: readonly ProtocolName[]): string[] {
  const lines: string[] = [];
  for (const kind of ['difference', 'session uplift'] as const) {
    for (const protocol of protocols) {
      const rows = comparisons.filter((c) => c.kind === kind && c.protocol === protocol);
      if (rows.length === 0) continue;
      lines.push(
        `### ${kind === 'difference' ? 'Differences' : 'Session uplifts'}, ${protocol}`,
        '',
        '| a − b | cases | ΔHR@10 [95 % CI] | ΔNDCG@10 [95 % CI] |',
        '|---|---:|---|---|',
      );
      for (const c of rows) lines.push(`| ${c.a} − ${c.b} | ${c.cases} | ${formatInterval(c.hit)} | ${formatInterval(c.ndcg)} |`);
      lines.push('');
    }
  }
  return lines;
}

/** The command that measures the curve again: the same file, seed, sample and tuning. */
function reproduceCommand(report: EvalReport): string {
  const users = report.sampleUsers === null ? '' : ` --users ${report.sampleUsers}`;
  const tune = report.tuning === undefined ? '' : ' --tune';
  return `npm run eval -- ${report.dataset.file} --seed ${report.seed}${users}${tune}`;
}

function diversityCurveSection(report: EvalReport, curve: DiversityCurve): string[] {
  const what =
    curve.by === 'category'
      ? [
          curve.window === 'validation'
            ? '## Accuracy against diversity (MMR by category), validation window'
            : '## Accuracy against diversity (MMR by category)',
          'maximal marginal relevance by category',
        ]
      : [
          '## Accuracy against popularity (MMR by popularity)',
          "maximal marginal relevance with one category, the training window's most popular 5 % of products (the rest have none)",
        ];
  return [
    what[0]!,
    '',
    `${curve.variant} on the ${curve.window ?? 'test'} window's ${curve.protocol} (${curve.cases} cases): its top ${curve.candidates} re-ranked by ` +
      `${what[1]} at λ (\`diversify\`, libs/domain/src/diversity.ts), the top 10 scored; ` +
      'diversity is the mean share of pairs in a list whose categories differ, popular share as in the tables. λ 0 is the answer as served by default' +
      (curve.by === 'category' ? "; serving's `DIVERSITY` setting is this λ." : '.'),
    '',
    '| λ | HR@10 | NDCG@10 | diversity | popular share |',
    '|---:|---:|---:|---:|---:|',
    ...curve.points.map((p) => `| ${p.lambda} | ${f3(p.hit)} | ${f3(p.ndcg)} | ${f3(p.diversity)} | ${f3(p.popularShare)} |`),
    '',
    `Reproduce: \`${reproduceCommand(report)}\`.`,
    '',
  ];
}

/** Each origin's means, then `a − b` at each origin and over all of them, for every comparison given. */
function originTables(comparisons: readonly AcrossOrigins[]): string[] {
  const { origins } = comparisons[0]!;
  if (origins.length === 0) return ['No cases at any origin.', ''];
  const variants = origins[0]!.means.map((m) => m.variant);
  const lines = [
    `| origin | cases | ${variants.map((v) => `${v} HR@10 / NDCG@10`).join(' | ')} |`,
    `|---|---:|${variants.map(() => '---:').join('|')}|`,
    ...origins.map((o) => `| ${o.cutoff} | ${o.cases} | ${o.means.map((m) => `${f3(m.hit)} / ${f3(m.ndcg)}`).join(' | ')} |`),
    '',
    '| origin | cases | a − b | ΔHR@10 [95 % CI] | ΔNDCG@10 [95 % CI] |',
    '|---|---:|---|---|---|',
  ];
  for (const { origins: each, pooled } of comparisons) {
    for (const o of each)
      for (const c of o.comparisons)
        lines.push(`| ${o.cutoff} | ${o.cases} | ${c.a} − ${c.b} | ${formatInterval(c.hit)} | ${formatInterval(c.ndcg)} |`);
    for (const c of pooled.comparisons)
      lines.push(
        `| all origins | ${pooled.cases} (${pooled.customers} customers) | ${c.a} − ${c.b} | ${formatInterval(c.hit)} | ${formatInterval(c.ndcg)} |`,
      );
  }
  lines.push('');
  return lines;
}

function originsSection(origins: WindowOrigins, window: 'test' | 'validation'): string[] {
  const days = origins.nextBasket.horizonDays;
  const where =
    window === 'test'
      ? `Origins ${days} days apart from the test cutoff on.`
      : `Origins ${days} days apart before the test window, up to the validation cutoff, whose month tuning looked at ` +
        '(its figures flatter the tuned methods); the earlier ones end before it.';
  return [
    `## Month by month (${window === 'test' ? 'test window' : 'before the test window'})`,
    '',
    `${where} Each origin asks for each customer's first basket in the ${days} days after it (after a purchase ` +
      'session: the basket after that one, both in those days), so every origin looks as far ahead and the months do ' +
      'not overlap; every method is trained afresh on all before it, with the settings chosen on validation. ' +
      "Differences between close methods at one origin can be its season: this is whether they hold. 'all origins' " +
      "pools every origin's cases; a customer asked at several origins is resampled with all their cases.",
    '',
    '### next-basket',
    '',
    ...originTables([origins.nextBasket]),
    '### after-purchase-session',
    '',
    ...originTables([origins.afterPurchase.served, origins.afterPurchase.mergeOnly]),
    '### after-purchase-session: what the session adds',
    '',
    "Each method's figure with the session minus its own without it (lambdarec's: minus its batch view), case by case: the uplifts issue 19 compares.",
    '',
    ...originTables([origins.afterPurchaseUplift.served, origins.afterPurchaseUplift.mergeOnly]),
  ];
}

/** The uplift of a session-aware variant over the same system without the session. */
export function uplift(
  results: readonly VariantResult[],
  protocol: ProtocolName,
  withSession: string,
  without: string,
): Scores | undefined {
  const a = results.find((r) => r.protocol === protocol && r.variant === withSession);
  const b = results.find((r) => r.protocol === protocol && r.variant === without);
  if (a === undefined || b === undefined) return undefined;
  return { hit: a.scores.hit - b.scores.hit, recall: a.scores.recall - b.scores.recall, ndcg: a.scores.ndcg - b.scores.ndcg };
}

export function renderMarkdown(
  report: EvalReport,
  protocols: readonly ProtocolName[],
  sessionVariant: string,
  batchVariant: string,
): string {
  const lines: string[] = [
    '# lambdarec offline evaluation',
    '',
    `Dataset: \`${report.dataset.file}\`: ${report.dataset.rows} rows, ${report.dataset.kept} clean purchase lines, ` +
      `${report.dataset.customers} customers, ${report.dataset.products} products, ${report.dataset.invoices} invoices.`,
    '',
    `Seed ${report.seed}${report.sampleUsers === null ? ', every eligible customer' : `, at most ${report.sampleUsers} customers per split`}.`,
    '',
    '| split | train before | evaluated until | train baskets | customers with later baskets |',
    '|---|---|---|---:|---:|',
    ...report.splits.map((s) => `| ${s.name} | ${s.cutoff} | ${s.end} | ${s.trainBaskets} | ${s.customers} |`),
    '',
  ];
  for (const [title, results] of [
    ['Test window', report.test],
    ['Validation window (tuning looks only here)', report.validation],
  ] as const) {
    lines.push(`## ${title}`, '');
    for (const protocol of protocols) {
      const rows = table(results, protocol);
      if (rows.length === 0) continue;
      lines.push(`### ${protocol}`, '', ...rows, '');
      const up = uplift(results, protocol, sessionVariant, batchVariant);
      if (up !== undefined)
        lines.push(
          `Session uplift over batch-only: HR@10 ${signed(up.hit)}, recall@10 ${signed(up.recall)}, NDCG@10 ${signed(up.ndcg)}.`,
          '',
        );
    }
  }
  if (report.comparisons !== undefined && report.comparisons.length > 0) {
    const b = report.bootstrap;
    lines.push(
      '## Paired intervals (test window)',
      '',
      `Mean difference a − b over the same customers, with a ${b === undefined ? '' : `${Math.round(b.confidence * 100)} % `}bootstrap interval` +
        `${b === undefined ? '' : ` (${b.resamples} resamples of the customers, seed ${b.seed})`}; * marks an interval that leaves 0 out.`,
      '',
      ...comparisonTables(report.comparisons, protocols),
    );
  }
  if (report.origins !== undefined)
    for (const window of ['test', 'validation'] as const)
      if (report.origins[window].nextBasket.origins.length > 1) lines.push(...originsSection(report.origins[window], window));
  for (const curve of [report.diversityCurve, report.validationDiversityCurve, report.popularityCurve])
    if (curve !== undefined) lines.push(...diversityCurveSection(report, curve));
  if (report.baselines !== undefined) {
    lines.push('## Paper baselines (settings chosen on validation)', '');
    for (const [baseline, settings] of Object.entries(report.baselines)) lines.push(`- ${baseline}: ${settings}`);
    if (report.baselineTuningSeconds !== undefined) lines.push(`- Search on validation: ${report.baselineTuningSeconds.toFixed(1)} s.`);
    lines.push('');
  }
  if (report.wallSeconds !== undefined) lines.push(`Wall time of the run: ${report.wallSeconds.toFixed(0)} s.`, '');
  if (report.tuning !== undefined)
    lines.push('## Tuning', '', `Best on validation: ${report.tuning.settings} (${report.tuning.scores}).`, '');
  if (report.peers !== undefined) {
    lines.push('## Peer library parameters (chosen on validation)', '');
    for (const [peer, params] of Object.entries(report.peers)) lines.push(`- ${peer}: ${params}`);
    lines.push('');
  }
  lines.push('## Notes', '', ...report.notes.map((note) => `- ${note}`), '', '![HR@k](hit-at-k.svg)', '');
  lines.push(
    'Data: Chen, D. (2015). *Online Retail* [Dataset]. UCI Machine Learning Repository. https://doi.org/10.24432/C5BW33. Licensed under CC BY 4.0.',
    '',
  );
  return lines.join('\n');
}

// Fourteen colours: the in-run baselines, their session variants, peers and lambdarec each get their own.
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#393b79',
  '#637939',
  '#8c6d31',
  '#843c39',
];

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** HR@k for k = 1..20, one panel per protocol, one line per variant (same colour in every panel). */
export function renderHitCurveSvg(results: readonly VariantResult[], protocols: readonly ProtocolName[]): string {
  const panelW = 360;
  const panelH = 260;
  const margin = { left: 48, right: 12, top: 34, bottom: 40 };
  const legendH = 22;
  const variants = [...new Set(results.map((r) => r.variant))];
  const colour = new Map(variants.map((v, i) => [v, PALETTE[i % PALETTE.length]!]));
  const width = panelW * protocols.length;
  const height = panelH + legendH * Math.ceil(variants.length / 3) + 10;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  protocols.forEach((protocol, p) => {
    const x0 = p * panelW + margin.left;
    const plotW = panelW - margin.left - margin.right;
    const plotH = panelH - margin.top - margin.bottom;
    const y0 = margin.top;
    const rows = results.filter((r) => r.protocol === protocol);
    const maxK = Math.max(1, ...rows.map((r) => r.hitCurve.length));
    const x = (k: number) => x0 + ((k - 1) / Math.max(1, maxK - 1)) * plotW;
    const y = (v: number) => y0 + plotH - v * plotH;
    parts.push(`<text x="${x0 + plotW / 2}" y="18" text-anchor="middle" font-size="13">${escapeXml(protocol)}</text>`);
    for (const tick of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
      parts.push(`<line x1="${x0}" y1="${y(tick)}" x2="${x0 + plotW}" y2="${y(tick)}" stroke="#ddd"/>`);
      parts.push(`<text x="${x0 - 6}" y="${y(tick) + 4}" text-anchor="end">${tick.toFixed(1)}</text>`);
    }
    for (const k of [1, 5, 10, 15, 20].filter((k) => k <= maxK)) {
      parts.push(`<text x="${x(k)}" y="${y0 + plotH + 16}" text-anchor="middle">${k}</text>`);
    }
    parts.push(`<text x="${x0 + plotW / 2}" y="${y0 + plotH + 32}" text-anchor="middle">k</text>`);
    parts.push(
      `<text x="${x0 - 36}" y="${y0 + plotH / 2}" text-anchor="middle" transform="rotate(-90 ${x0 - 36} ${y0 + plotH / 2})">HR@k</text>`,
    );
    parts.push(`<rect x="${x0}" y="${y0}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
    for (const r of rows) {
      const points = r.hitCurve.map((v, i) => `${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      parts.push(
        `<polyline fill="none" stroke="${colour.get(r.variant)}" stroke-width="2" points="${points}"><title>${escapeXml(r.variant)}</title></polyline>`,
      );
    }
  });
  variants.forEach((variant, i) => {
    const lx = 16 + (i % 3) * (width / 3);
    const ly = panelH + 8 + Math.floor(i / 3) * legendH;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${colour.get(variant)}" stroke-width="3"/>`);
    parts.push(`<text x="${lx + 30}" y="${ly + 4}">${escapeXml(variant)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
