/**
 * How the experiment mode of `npm run simulate` shows what it found: the report's measured CTR of
 * each variant beside the true one, and whether the verdict agrees with the truth. A Markdown table,
 * so that the README can quote a run as printed.
 */
import type { ExperimentMode, ExperimentReport, Verdict } from '@lambdarec/contracts';
import { judgeVerdict, trueCtr, trueOwnListCtr, type ArmTruth } from './experiment-truth.js';

export interface ExperimentOutcome {
  experimentId: string;
  /** From the report, else from `--create`; undefined when neither is known. */
  mode: ExperimentMode | undefined;
  arms: ReadonlyMap<string, Readonly<ArmTruth>>;
  /** Undefined while batch has no report to give (see `reportProblem`). */
  report: ExperimentReport | undefined;
  /** Why there is no report, for example `batch answered 404`. */
  reportProblem?: string | undefined;
}

const percent = (value: number | undefined) => (value === undefined ? '–' : `${(value * 100).toFixed(2)} %`);
const points = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(2)}`;
/** An interval of rates, in percent (or in percentage points, for a difference). */
const interval = ([lo, hi]: readonly [number, number]) => `[${(lo * 100).toFixed(2)}, ${(hi * 100).toFixed(2)}]`;
const plainInterval = ([lo, hi]: readonly [number, number]) => `[${lo.toFixed(3)}, ${hi.toFixed(3)}]`;

/** The variants in the report's order (baseline first), then any the report does not know yet. */
function variantNames({ arms, report }: ExperimentOutcome): string[] {
  const names = report?.variants.map((variant) => variant.name) ?? [];
  return [...names, ...[...arms.keys()].filter((name) => !names.includes(name))];
}

/** `lambda better by +2.50 pp`, from the truth of the baseline and the challenger. */
function truthSays(baseline: string, challenger: string, baselineTruth: number | undefined, challengerTruth: number | undefined): string {
  if (baselineTruth === undefined || challengerTruth === undefined) return 'unknown (a variant served no list)';
  const difference = challengerTruth - baselineTruth;
  if (difference === 0) return 'no difference';
  return `${difference > 0 ? challenger : baseline} better by ${points(Math.abs(difference))} pp`;
}

function verdictLine(
  label: string,
  verdict: Verdict,
  measured: string,
  names: { baseline: string; challenger: string },
  truths: [number | undefined, number | undefined],
): string {
  return (
    `${label}: ${verdict} (${measured}); truth: ${truthSays(names.baseline, names.challenger, ...truths)} → ` +
    judgeVerdict(verdict, ...truths)
  );
}

/** The closing summary: the table, then one line per verdict. */
export function formatExperimentTable(outcome: ExperimentOutcome): string {
  const { experimentId, mode, arms, report } = outcome;
  const interleaved = mode === 'interleave';
  const header = [
    'variant',
    'lists sent',
    'lists counted',
    'clicks sent',
    'clicks counted',
    'measured CTR [95 %]',
    'true CTR',
    ...(interleaved ? ['true CTR, own list'] : []),
  ];
  const rows = variantNames(outcome).map((name) => {
    const truth = arms.get(name);
    const measured = report?.variants.find((variant) => variant.name === name);
    return [
      name,
      String(truth?.lists ?? 0),
      measured === undefined ? '–' : String(measured.impressions),
      String(truth?.clicks ?? 0),
      measured === undefined ? '–' : String(measured.clicks),
      measured === undefined ? '–' : `${percent(measured.ctr)} ${interval(measured.ctrInterval)}`,
      percent(trueCtr(truth)),
      ...(interleaved ? [percent(trueOwnListCtr(truth))] : []),
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  const lines = [
    `experiment ${experimentId}${mode === undefined ? '' : ` (${mode})`}`,
    '',
    line(header),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...rows.map(line),
    '',
  ];
  if (report === undefined) {
    lines.push(`report: not available${outcome.reportProblem === undefined ? '' : ` (${outcome.reportProblem})`}`);
    return lines.join('\n');
  }
  const { baseline, challenger, verdict, difference, pValue } = report.comparison;
  lines.push(
    verdictLine(
      interleaved ? 'per-team CTR' : 'A/B',
      verdict,
      `${challenger} − ${baseline} ${points(difference)} pp ${interval(report.comparison.interval)}, ${pValue < 0.001 ? 'p < 0.001' : `p = ${pValue.toFixed(3)}`}`,
      report.comparison,
      [trueCtr(arms.get(baseline)), trueCtr(arms.get(challenger))],
    ),
  );
  if (report.interleaving !== undefined) {
    const { wins, losses, ties, preference } = report.interleaving;
    lines.push(
      verdictLine(
        'interleaving',
        report.interleaving.verdict,
        `${wins} won, ${losses} lost, ${ties} tied, preference ${preference.toFixed(3)} ${plainInterval(report.interleaving.interval)}`,
        report.comparison,
        [trueOwnListCtr(arms.get(baseline)), trueOwnListCtr(arms.get(challenger))],
      ),
    );
  }
  return lines.join('\n');
}

export interface ExperimentProgress {
  elapsedMs: number;
  visitsDone: number;
  visitsPlanned: number;
}

/** The live line: `24 s  visits 120/600  popular 60 lists 3.10 % [1.20, 5.00] true 3.05 %  lambda …  A/B no-difference-yet`. */
export function formatExperimentLiveLine(progress: ExperimentProgress, outcome: ExperimentOutcome): string {
  const parts = [`${Math.floor(progress.elapsedMs / 1000)} s`, `visits ${progress.visitsDone}/${progress.visitsPlanned}`];
  for (const name of variantNames(outcome)) {
    const truth = outcome.arms.get(name);
    const measured = outcome.report?.variants.find((variant) => variant.name === name);
    const ctr = measured === undefined ? 'CTR –' : `${percent(measured.ctr)} ${interval(measured.ctrInterval)}`;
    parts.push(`${name} ${truth?.lists ?? 0} lists ${ctr} true ${percent(trueCtr(truth))}`);
  }
  if (outcome.report !== undefined) parts.push(`verdict ${outcome.report.interleaving?.verdict ?? outcome.report.comparison.verdict}`);
  else if (outcome.reportProblem !== undefined) parts.push(`report: ${outcome.reportProblem}`);
  return parts.join('  ');
}
