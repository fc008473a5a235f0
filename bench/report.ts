/**
 * The one shape every benchmark reports in, so `npm run bench` can put them in one table.
 *
 * A figure is either a ratio against a baseline measured in the same run (the figure that travels
 * between machines: these are shared and noisy), or an absolute with the goal it is held to.
 * Each bench writes `reports/bench/<name>.json` (and a markdown rendering); the summary reads them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { WORKSPACE_ROOT } from '@lambdarec/local-stack';

export interface BenchFigure {
  /** What was measured, e.g. "GET /recommendations, 100k users". */
  label: string;
  value: number;
  unit: string;
  /** The same-run baseline this figure is compared with, when there is one. */
  baseline?: { label: string; value: number; unit: string };
  /** value / baseline.value (or the inverse for latencies, as `ratioNote` says). */
  ratio?: number;
  /** The goal in words and whether this run met it, e.g. "≥ 0.5× the raw consumer". */
  goal?: string;
  met?: boolean;
}

export interface BenchReport {
  name: string;
  /** One line on the setup: sizes, connections, duration. */
  setup: string;
  figures: BenchFigure[];
  notes?: string[];
}

/** Where reports go; the benches' own test points it elsewhere, so its small slices never overwrite real figures. */
export const REPORT_DIR = process.env['BENCH_REPORT_DIR'] ?? path.join(WORKSPACE_ROOT, 'reports/bench');

/** The machine, for the report's header: these figures mean nothing without it. */
export function describeMachine(): string {
  const cpu = cpus();
  const gib = (totalmem() / 2 ** 30).toFixed(0);
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ${gib} GiB RAM, Node ${process.version}, load ${loadavg()[0]!.toFixed(2)} at start`;
}

const number = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2));

/** Markdown rows for one report's figures (shared by the per-bench file and the summary). */
export function figureRows(report: BenchReport): string[] {
  return report.figures.map((f) =>
    [
      report.name,
      f.label,
      `${number(f.value)} ${f.unit}`,
      f.baseline === undefined ? '' : `${f.baseline.label}: ${number(f.baseline.value)} ${f.baseline.unit}`,
      f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}×`,
      f.goal === undefined ? '' : `${f.goal} ${f.met === true ? '✓' : f.met === false ? '✗' : ''}`.trim(),
    ].join(' | '),
  );
}

export const TABLE_HEADER = ['| bench | figure | value | baseline (same run) | ratio | goal |', '|---|---|---|---|---|---|'];

/** Writes reports/bench/<name>.json and .md, and returns the markdown. */
export function writeBenchReport(report: BenchReport): string {
  mkdirSync(REPORT_DIR, { recursive: true });
  const machine = describeMachine();
  const markdown = [
    `# bench: ${report.name}`,
    '',
    `Machine: ${machine}. Run ${new Date().toISOString()}.`,
    '',
    report.setup,
    '',
    ...TABLE_HEADER,
    ...figureRows(report).map((row) => `| ${row} |`),
    ...(report.notes === undefined ? [] : ['', ...report.notes.map((n) => `- ${n}`)]),
  ].join('\n');
  writeFileSync(path.join(REPORT_DIR, `${report.name}.md`), `${markdown}\n`);
  writeFileSync(
    path.join(REPORT_DIR, `${report.name}.json`),
    `${JSON.stringify({ machine, at: new Date().toISOString(), ...report }, null, 2)}\n`,
  );
  return markdown;
}
