import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { abVariantOf, DEFAULT_SIMULATION, medianImpressions, simulateExperiments } from '../experiment-simulation.js';
import type { BenchReport } from '../report.js';
import { runBenchScript } from './run-bench-script.js';

/**
 * npm run bench:experiments on a small slice, so that it cannot rot: its simulation in process on
 * three seeds, and the script itself on two. Its figures are the bench's business; here they only
 * have to exist, be finite and agree with the ground truth where the slice is big enough to say.
 */
const SLICE = { ...DEFAULT_SIMULATION, seeds: [1, 2, 3], shoppers: 400, maxImpressions: 4000, checkEvery: 200 };
const reportDir = mkdtempSync(path.join(tmpdir(), 'lrec-bench-experiments-'));
afterAll(() => rmSync(reportDir, { recursive: true, force: true }));

describe('the experiments bench', () => {
  it('runs A/B, interleaving and both A/As on each seed, against the shopper model’s truth', () => {
    const runs = simulateExperiments(SLICE);
    expect(runs.map((r) => r.seed)).toEqual([1, 2, 3]);
    for (const run of runs) {
      // The personalised ranker is truly the better one, by both measures.
      expect(run.trueCtr.personal).toBeGreaterThan(run.trueCtr.popular);
      expect(run.truePreference).toBeGreaterThan(0);
      expect(run.truePreference).toBeLessThanOrEqual(1);
      expect(run.trueVerdict).toEqual({ ab: 'challenger-better', interleaving: 'challenger-better' });
      for (const experiment of [run.ab, run.interleaving, run.abNull, run.interleavingNull]) {
        if (experiment.settledAt !== undefined) {
          expect(experiment.verdict).not.toBe('no-difference-yet');
          expect(experiment.settledAt % SLICE.checkEvery).toBe(0);
          expect(experiment.everSignificant).toBe(true);
        } else expect(experiment.verdict).toBe('no-difference-yet');
      }
      // A significant verdict, when there is one, is never the wrong way round.
      expect(run.ab.verdict).not.toBe('baseline-better');
      expect(run.interleaving.verdict).not.toBe('baseline-better');
    }
    // The slice is enough for interleaving to find the better ranker in most runs.
    expect(runs.filter((r) => r.interleaving.verdict === 'challenger-better').length).toBeGreaterThanOrEqual(2);
  });

  it('writes its report: finite figures, interleaving against A/B as its same-run baseline', async () => {
    const args = ['--seeds', '2', '--shoppers', '300', '--max-impressions', '2000'];
    const { code, output } = await runScript(args);
    expect(code, output.slice(-3000)).toBe(0);
    const report = JSON.parse(readFileSync(path.join(reportDir, 'experiments.json'), 'utf8')) as BenchReport;
    expect(report.name).toBe('experiments');
    for (const figure of report.figures) expect(Number.isFinite(figure.value), figure.label).toBe(true);
    const interleaving = report.figures.find((f) => f.label.startsWith('interleaving: median'))!;
    expect(interleaving.baseline?.label).toBe('A/B');
    expect(interleaving.ratio).toBeCloseTo(interleaving.value / interleaving.baseline!.value, 10);
  }, 60_000);
});

describe('the bench’s helpers', () => {
  it('splits users half and half between the A/B variants, the same way every time', () => {
    const variants = Array.from({ length: 4000 }, (_, i) => abVariantOf('exp', `shopper-${i}`));
    expect(variants.filter((v) => v === 1).length / variants.length).toBeCloseTo(0.5, 1);
    expect(abVariantOf('exp', 'shopper-7')).toBe(abVariantOf('exp', 'shopper-7'));
  });

  it('takes the median of impressions with runs that never settled as the largest', () => {
    const run = (settledAt?: number) => ({ verdict: 'no-difference-yet' as const, settledAt, everSignificant: false });
    expect(medianImpressions([run(200), run(600), run()])).toBe(600);
    expect(medianImpressions([run(200), run(), run()])).toBe(Infinity);
    expect(medianImpressions([run(200), run(400)])).toBe(300);
  });
});

function runScript(args: string[]): Promise<{ code: number | null; output: string }> {
  return runBenchScript('bench/experiments.bench.ts', args, { BENCH_REPORT_DIR: reportDir });
}
