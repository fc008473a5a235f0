import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../report.js';
import { runBenchScript } from './run-bench-script.js';

/**
 * Every benchmark, run by `npm run bench` on a small slice (--quick), so none of them rots between
 * the occasions someone runs them at full size. Figures here prove the bench measured something
 * against its baseline; how fast is the bench's own business, never a test's.
 */
const reportDir = mkdtempSync(path.join(tmpdir(), 'lrec-bench-test-'));
afterAll(() => rmSync(reportDir, { recursive: true, force: true }));

function runQuick(name: string): Promise<{ code: number | null; output: string }> {
  return runBenchScript('bench/all.ts', ['--quick', '--only', name], { BENCH_REPORT_DIR: reportDir });
}

describe('npm run bench --quick', () => {
  it.each(['session-memory', 'ingest', 'speed', 'serving', 'freshness', 'archive', 'batch', 'experiment-report'])(
    '%s runs on a small slice and reports figures against a same-run baseline',
    async (name) => {
      const { code, output } = await runQuick(name);
      expect(code, output.slice(-3000)).toBe(0);
      const report = JSON.parse(readFileSync(path.join(reportDir, `${name}.json`), 'utf8')) as BenchReport & { machine: string };
      expect(report.name).toBe(name);
      expect(report.machine).toMatch(/Node v\d+/);
      expect(report.figures.length).toBeGreaterThan(0);
      for (const figure of report.figures) expect(Number.isFinite(figure.value), figure.label).toBe(true);
      const compared = report.figures.filter((f) => f.baseline !== undefined && f.ratio !== undefined);
      expect(compared.length, 'a figure with a same-run baseline').toBeGreaterThan(0);
      for (const figure of compared) {
        expect(figure.baseline!.value, figure.label).toBeGreaterThan(0);
        // A ratio may be a median of per-round ratios, not the ratio of the medians: the same story, though.
        expect(Number.isFinite(figure.ratio) && figure.ratio! > 0, figure.label).toBe(true);
        expect(Math.abs(Math.log(figure.ratio! / (figure.value / figure.baseline!.value))), figure.label).toBeLessThan(Math.log(2));
      }
      // The summary table of the run names this bench and no failure.
      const summary = readFileSync(path.join(reportDir, 'summary.md'), 'utf8');
      expect(summary).toContain(`| ${name} |`);
      expect(summary).not.toContain('failed (exit');
    },
    300_000,
  );
});
