import { describe, expect, it } from 'vitest';
import { formatProgress } from './progress.js';
import { formatInterval, renderHitCurveSvg, renderMarkdown, uplift, type EvalReport, type VariantResult } from './report.js';

const result = (variant: string, protocol: VariantResult['protocol'], hit: number, ndcg: number): VariantResult => ({
  variant,
  protocol,
  cases: 10,
  scores: { hit, recall: hit / 2, ndcg },
  hitCurve: Array.from({ length: 20 }, (_, k) => Math.min(1, (hit * (k + 1)) / 10)),
});

const report: EvalReport = {
  dataset: { file: 'retail.csv.gz', rows: 100, kept: 90, customers: 10, products: 20, invoices: 30 },
  seed: 42,
  sampleUsers: null,
  splits: [{ name: 'test', cutoff: '2011-09-11', end: '2011-12-10', trainBaskets: 25, customers: 10 }],
  test: [
    result('popularity', 'next-basket', 0.4, 0.1),
    result('batch', 'rest-of-basket', 0.5, 0.2),
    result('session', 'rest-of-basket', 0.6, 0.25),
  ],
  validation: [],
  baselines: { 'TIFU-KNN': 'k 300' },
  comparisons: [
    {
      protocol: 'rest-of-basket',
      kind: 'session uplift',
      a: 'session',
      b: 'batch',
      cases: 10,
      hit: { mean: 0.1, low: 0.02, high: 0.18 },
      ndcg: { mean: 0.05, low: -0.01, high: 0.11 },
    },
  ],
  bootstrap: { resamples: 1000, seed: 42, confidence: 0.95 },
  notes: ['a note'],
};
report.test[0]!.beyond = { coverage: 0.1234, popularShare: 0.5, diversity: 0.75, novelty: 6.789 };

describe('uplift', () => {
  it('is the session variant minus the batch-only one on the same protocol', () => {
    const up = uplift(report.test, 'rest-of-basket', 'session', 'batch')!;
    expect(up.hit).toBeCloseTo(0.1, 12);
    expect(up.ndcg).toBeCloseTo(0.05, 12);
    expect(uplift(report.test, 'next-basket', 'session', 'batch')).toBeUndefined();
  });
});

describe('renderMarkdown', () => {
  it('has a table per protocol with HR@10, recall@10 and NDCG@10, the uplift, the notes and the attribution', () => {
    const md = renderMarkdown(report, ['next-basket', 'rest-of-basket'], 'session', 'batch');
    expect(md).toContain('| popularity | 10 | 0.400 | 0.200 | 0.100 | 0.123 | 0.500 | 0.750 | 6.79 |');
    expect(md).toContain('| batch | 10 | 0.500 | 0.250 | 0.200 | – | – | – | – |');
    expect(md).toContain('Session uplift over batch-only: HR@10 +0.100, recall@10 +0.050, NDCG@10 +0.050.');
    expect(md).toContain('- a note');
    expect(md).toContain('https://doi.org/10.24432/C5BW33');
  });
});

describe('paired intervals in the report', () => {
  it('lists each comparison with its interval, starred when it leaves 0 out, and the chosen settings', () => {
    const md = renderMarkdown(report, ['next-basket', 'rest-of-basket'], 'session', 'batch');
    expect(md).toContain('### Session uplifts, rest-of-basket');
    expect(md).toContain('| session − batch | 10 | +0.100 [+0.020, +0.180] * | +0.050 [-0.010, +0.110] |');
    expect(md).toContain('1000 resamples of the customers, seed 42');
    expect(md).toContain('- TIFU-KNN: k 300');
  });

  it('formats an interval that straddles 0 without a star', () => {
    expect(formatInterval({ mean: -0.001, low: -0.02, high: 0.015 })).toBe('-0.001 [-0.020, +0.015]');
  });
});

describe('accuracy against diversity in the report', () => {
  const withCurve: EvalReport = {
    ...report,
    diversityCurve: {
      by: 'category',
      variant: 'batch',
      protocol: 'next-basket',
      cases: 10,
      candidates: 20,
      points: [
        { lambda: 0, hit: 0.4, ndcg: 0.2, diversity: 0.5, popularShare: 0.6 },
        { lambda: 0.5, hit: 0.35, ndcg: 0.15, diversity: 0.8, popularShare: 0.55 },
      ],
    },
  };

  it('renders one row per λ and the command that measures it again', () => {
    const md = renderMarkdown(withCurve, ['next-basket'], 'session', 'batch');
    expect(md).toContain('## Accuracy against diversity (MMR by category)');
    expect(md).toContain('| 0 | 0.400 | 0.200 | 0.500 | 0.600 |');
    expect(md).toContain('| 0.5 | 0.350 | 0.150 | 0.800 | 0.550 |');
    expect(md).not.toContain('MMR by popularity');
    expect(md).toContain('Reproduce: `npm run eval -- retail.csv.gz --seed 42`.');
    expect(renderMarkdown({ ...withCurve, sampleUsers: 30 }, ['next-basket'], 'session', 'batch')).toContain(
      '`npm run eval -- retail.csv.gz --seed 42 --users 30`',
    );
  });

  it("renders the validation window's category curve after the test window's, and the popularity curve in its own section last", () => {
    const onValidation = { ...withCurve.diversityCurve!, window: 'validation' as const };
    const popularity = { ...withCurve.diversityCurve!, by: 'popularity' as const };
    const md = renderMarkdown(
      { ...withCurve, validationDiversityCurve: onValidation, popularityCurve: popularity },
      ['next-basket'],
      'session',
      'batch',
    );
    const testAt = md.indexOf('## Accuracy against diversity (MMR by category)\n');
    const validationAt = md.indexOf('## Accuracy against diversity (MMR by category), validation window');
    const popularityAt = md.indexOf('## Accuracy against popularity (MMR by popularity)');
    expect(testAt).toBeGreaterThan(-1);
    expect(validationAt).toBeGreaterThan(testAt);
    expect(popularityAt).toBeGreaterThan(validationAt);
    expect(md.slice(validationAt, popularityAt)).toContain("on the validation window's next-basket");
    expect(md.slice(popularityAt)).toContain('| 0.5 | 0.350 | 0.150 | 0.800 | 0.550 |');
  });

  it('leaves the section out when no curve was measured', () => {
    expect(renderMarkdown(report, ['next-basket'], 'session', 'batch')).not.toContain('Accuracy against diversity');
  });
});

describe('the other origins section', () => {
  const interval = (mean: number, low: number, high: number) => ({ mean, low, high });
  const at = (cutoff: string, cases: number, ndcg: number) => ({
    cutoff,
    cases,
    means: [
      { variant: 'lambdarec', hit: 0.7, ndcg },
      { variant: 'TIFU-KNN', hit: 0.71, ndcg: 0.3 },
    ],
    comparisons: [
      { a: 'lambdarec', b: 'TIFU-KNN', hit: interval(-0.01, -0.02, 0.005), ndcg: interval(ndcg - 0.3, ndcg - 0.31, ndcg - 0.29) },
    ],
  });
  const comparison = {
    horizonDays: 30,
    origins: [at('2011-09-11', 100, 0.302), at('2011-10-11', 80, 0.28)],
    pooled: {
      cases: 180,
      customers: 120,
      comparisons: [{ a: 'lambdarec', b: 'TIFU-KNN', hit: interval(0, -0.01, 0.01), ndcg: interval(-0.01, -0.02, 0) }],
    },
  };
  const window = (c: typeof comparison) => ({
    nextBasket: c,
    afterPurchase: { served: c, mergeOnly: c },
    afterPurchaseUplift: { served: c, mergeOnly: c },
  });
  const single = { ...comparison, origins: comparison.origins.slice(0, 1) };
  const render = (test: typeof comparison, validation: typeof comparison) =>
    renderMarkdown({ ...report, origins: { test: window(test), validation: window(validation) } }, ['next-basket'], 'session', 'batch');

  it('has a row of means per origin and each difference per origin and over all of them, per protocol', () => {
    const md = render(comparison, single);
    expect(md).toContain('## Month by month (test window)');
    expect(md).not.toContain('## Month by month (before the test window)');
    expect(md).toContain('Origins 30 days apart from the test cutoff on.');
    const next = md.slice(md.indexOf('### next-basket', md.indexOf('## Month by month')));
    expect(next).toContain('| origin | cases | lambdarec HR@10 / NDCG@10 | TIFU-KNN HR@10 / NDCG@10 |');
    expect(next).toContain('| 2011-10-11 | 80 | 0.700 / 0.280 | 0.710 / 0.300 |');
    expect(next).toContain('| 2011-09-11 | 100 | lambdarec − TIFU-KNN | -0.010 [-0.020, +0.005] | +0.002 [-0.008, +0.012] |');
    expect(next).toContain('| 2011-10-11 | 80 | lambdarec − TIFU-KNN | -0.010 [-0.020, +0.005] | -0.020 [-0.030, -0.010] * |');
    expect(next).toContain(
      '| all origins | 180 (120 customers) | lambdarec − TIFU-KNN | +0.000 [-0.010, +0.010] | -0.010 [-0.020, +0.000] |',
    );
    // After a purchase session: the served answer's comparisons and then the answer before ADR 017's, under one table of means.
    const after = md.slice(md.indexOf('### after-purchase-session', md.indexOf('## Month by month')));
    const uplift = after.indexOf('### after-purchase-session: what the session adds');
    expect(uplift).toBeGreaterThan(0);
    expect(after.slice(0, uplift).match(/\| all origins \|/g)).toHaveLength(2);
    expect(after.slice(0, uplift).match(/\| origin \| cases \| lambdarec HR@10/g)).toHaveLength(1);
    expect(after.slice(uplift)).toContain('minus its own without it');
    expect(after.slice(uplift).match(/\| all origins \|/g)).toHaveLength(2);
  });

  it('says of the origins before the test window that tuning looked at the last one', () => {
    const md = render(comparison, comparison);
    const validationAt = md.indexOf('## Month by month (before the test window)');
    expect(validationAt).toBeGreaterThan(md.indexOf('## Month by month (test window)'));
    expect(md.slice(validationAt)).toContain('whose month tuning looked at');
  });

  it('says so when a protocol had no case at any origin, instead of failing', () => {
    const none = { ...comparison, origins: [], pooled: { cases: 0, customers: 0, comparisons: [] } };
    const md = renderMarkdown(
      {
        ...report,
        origins: {
          test: {
            nextBasket: comparison,
            afterPurchase: { served: none, mergeOnly: none },
            afterPurchaseUplift: { served: none, mergeOnly: none },
          },
          validation: window(single),
        },
      },
      ['next-basket'],
      'session',
      'batch',
    );
    expect(md.slice(md.indexOf('### after-purchase-session', md.indexOf('## Month by month')))).toContain('No cases at any origin.');
  });

  it('is left out when there was no other origin to ask from', () => {
    const md = render(single, single);
    expect(md).not.toContain('Month by month');
  });
});

describe('renderHitCurveSvg', () => {
  it('draws one panel per protocol and one line per variant with 20 points, escaping names', () => {
    const svg = renderHitCurveSvg([...report.test, result('a <b> & "c"', 'next-basket', 0.3, 0.1)], ['next-basket', 'rest-of-basket']);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    const points = /points="([^"]+)"/.exec(svg)![1]!.split(' ');
    expect(points).toHaveLength(20);
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).not.toContain('a <b>');
  });
});

describe('formatProgress', () => {
  it('shows the bar, the percentage, the elapsed time and an ETA from the pace so far', () => {
    expect(formatProgress('test', 0.25, 10_000, 8)).toBe('[##......]  25% test 10s, ETA 30s');
    expect(formatProgress('test', 1, 75_000, 4)).toBe('[####] 100% test 1m15s');
  });
});
