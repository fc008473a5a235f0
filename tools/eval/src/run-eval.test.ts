import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadOnlineRetail } from './dataset.js';
import type { NextBasketRecommender } from './basket-history.js';
import type { EvalCase } from './protocols.js';
import {
  askWithSession,
  DIVERSITY_CURVE_LAMBDAS,
  POPULARITY_CURVE_LAMBDAS,
  LAMBDAREC_BATCH,
  LAMBDAREC_SESSION,
  LAMBDAREC_MERGE_ONLY,
  P_POP,
  runEval,
  TIFU_KNN,
  UP_CF,
  WITH_SESSION,
  tuningGrid,
  DEFAULT_SETTINGS,
  type EvalOptions,
} from './run-eval.js';
import { seededRandom } from './split.js';

/** Small searches: the search itself is not what these tests time. */
const SMALL_SEARCHES: EvalOptions['searches'] = {
  tifu: {
    start: { groupSize: 3, withinGroupDecay: 0.9, acrossGroupDecay: 0.7, neighbours: 20, ownWeight: 0.5, distance: 'euclidean' },
    stages: [{ ownWeight: [0.5, 0.9] }],
  },
  upcf: { start: { recency: 5, asymmetry: 0.5, locality: 5 }, stages: [{ recency: [1, Infinity] }] },
};

const DAY = 24 * 60 * 60 * 1000;
const START = Date.parse('2011-01-03T09:00:00Z');
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * A small shop in the UCI layout where customers re-buy: each has a few staple products they
 * reorder most visits, plus products bought together in pairs (2k, 2k+1). Seeded, so every run
 * writes the same file. Product p's category (the description's last word) is categories[p mod their count].
 */
function syntheticRetailCsv(customers = 120, products = 60, days = 300, categories: readonly string[] = ['BOXED']): string {
  const random = seededRandom(7);
  const rows = ['InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country'];
  let invoice = 540000;
  const code = (p: number) => String(10000 + p);
  for (let c = 0; c < customers; c++) {
    const staples = [0, 1, 2].map(() => Math.floor(random() * products));
    for (let day = Math.floor(random() * 20); day < days; day += 10 + Math.floor(random() * 25)) {
      // Entered as: one of a pair, the staples, then (mostly) its partner; so a cart of the first
      // half holds the pair's first product and the rest of the basket its partner.
      const pair = Math.floor(random() * (products / 2)) * 2;
      const items = new Set<number>([pair, ...staples.filter(() => random() < 0.7)]);
      if (random() < 0.8) items.add(pair + 1);
      const at = new Date(START + day * DAY).toISOString().replace('T', ' ').slice(0, 19);
      invoice++;
      for (const p of items)
        rows.push(`${invoice},${code(p)},"THING ${p}, ${categories[p % categories.length]}",2,${at},1.25,${13000 + c}.0,United Kingdom`);
    }
  }
  return `${rows.join('\n')}\n`;
}

async function writeSynthetic(categories?: readonly string[]): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lambdarec-eval-'));
  const file = path.join(dir, 'synthetic.csv');
  await writeFile(file, syntheticRetailCsv(undefined, undefined, undefined, categories));
  return file;
}

describe('tuningGrid', () => {
  it("holds the services' defaults, so that tuning can keep them", () => {
    const describe = (s: typeof DEFAULT_SETTINGS) => JSON.stringify(s);
    expect(tuningGrid().map(describe)).toContain(describe(DEFAULT_SETTINGS));
  });
});

describe('runEval on a small re-buying shop', () => {
  it('scores every variant on all three protocols, and the re-buy-aware model beats popularity', async () => {
    const file = await writeSynthetic();
    const { lines, stats } = await loadOnlineRetail(file);
    const report = await runEval(lines, stats, file, { seed: 1, testDays: 60, validationDays: 60, searches: SMALL_SEARCHES });
    const find = (variant: string, protocol: string) => report.test.find((r) => r.variant === variant && r.protocol === protocol);
    for (const protocol of ['next-basket', 'after-purchase-session', 'rest-of-basket']) {
      expect(find('popularity', protocol)?.cases).toBeGreaterThan(10);
      expect(find(LAMBDAREC_BATCH, protocol)).toBeDefined();
    }
    expect(find(LAMBDAREC_SESSION, 'next-basket')).toBeUndefined();
    expect(find(LAMBDAREC_SESSION, 'rest-of-basket')).toBeDefined();
    // The answer before ADR 017 is measured where there are purchases to re-rank with, against the
    // batch view and against each baseline with the session folded in.
    expect(find(LAMBDAREC_MERGE_ONLY, 'after-purchase-session')).toBeDefined();
    expect(find(LAMBDAREC_MERGE_ONLY, 'rest-of-basket')).toBeUndefined();
    const mergeOnly = report.comparisons!.filter((c) => c.a === LAMBDAREC_MERGE_ONLY).map((c) => `${c.kind}: ${c.b}`);
    expect(mergeOnly).toEqual([
      ...[P_POP, TIFU_KNN, UP_CF].map((b) => `difference: ${b}${WITH_SESSION}`),
      `session uplift: ${LAMBDAREC_BATCH}`,
    ]);
    for (const baseline of [P_POP, TIFU_KNN, UP_CF]) {
      expect(find(baseline, 'next-basket')?.beyond?.coverage).toBeGreaterThan(0);
      expect(find(`${baseline}${WITH_SESSION}`, 'next-basket')).toBeUndefined();
      expect(find(`${baseline}${WITH_SESSION}`, 'after-purchase-session')).toBeDefined();
    }
    // Paired intervals: the batch view against each history-only baseline, and each session uplift.
    const interval = report.comparisons!.find((c) => c.protocol === 'next-basket' && c.b === TIFU_KNN)!;
    expect(interval.a).toBe(LAMBDAREC_BATCH);
    expect(interval.ndcg.low).toBeLessThanOrEqual(interval.ndcg.mean);
    expect(interval.ndcg.high).toBeGreaterThanOrEqual(interval.ndcg.mean);
    const uplift = report.comparisons!.find((c) => c.kind === 'session uplift' && c.a === `${P_POP}${WITH_SESSION}`);
    expect(uplift?.b).toBe(P_POP);
    expect(Object.keys(report.baselines!)).toEqual([TIFU_KNN, UP_CF]);
    for (const r of report.test) {
      for (const v of [r.scores.hit, r.scores.recall, r.scores.ndcg, ...r.hitCurve]) expect(v).toBeGreaterThanOrEqual(0);
      expect(r.hitCurve).toHaveLength(20);
      expect(r.hitCurve[9]).toBeCloseTo(r.scores.hit, 12);
    }
    expect(find(LAMBDAREC_BATCH, 'next-basket')!.scores.ndcg).toBeGreaterThan(find('popularity', 'next-basket')!.scores.ndcg);
    // The cart's pair partner is the best guess for the rest of the basket: the session must help.
    // Here the batch view's staples alone already hit 95 % of the rests; what the session adds
    // shows in how much of the rest it finds (the pair partners) and how high.
    const withSession = find(LAMBDAREC_SESSION, 'rest-of-basket')!.scores;
    const batchOnly = find(LAMBDAREC_BATCH, 'rest-of-basket')!.scores;
    expect(withSession.recall).toBeGreaterThan(batchOnly.recall);
    expect(withSession.ndcg).toBeGreaterThan(batchOnly.ndcg);
    // The accuracy/diversity curve starts from the batch view as served (one category here: nothing to spread).
    const curve = report.diversityCurve!;
    const batch = find(LAMBDAREC_BATCH, 'next-basket')!;
    expect(curve.points.map((p) => p.lambda)).toEqual(DIVERSITY_CURVE_LAMBDAS);
    expect(curve.cases).toBe(batch.cases);
    expect(curve.points[0]!.hit).toBeCloseTo(batch.scores.hit, 12);
    expect(curve.points[0]!.ndcg).toBeCloseTo(batch.scores.ndcg, 12);
    expect(curve.points[0]!.diversity).toBeCloseTo(batch.beyond!.diversity, 12);
    expect(curve.points[0]!.popularShare).toBeCloseTo(batch.beyond!.popularShare, 12);
    expect(curve.points.at(-1)!.diversity).toBeGreaterThanOrEqual(curve.points[0]!.diversity);
    // The popularity curve starts from the same answer, and holding popular products back shows fewer.
    const popularity = report.popularityCurve!;
    expect(popularity.by).toBe('popularity');
    expect(popularity.points.map((p) => p.lambda)).toEqual(POPULARITY_CURVE_LAMBDAS);
    expect(popularity.points[0]).toEqual(curve.points[0]);
    expect(popularity.points.at(-1)!.popularShare).toBeLessThan(popularity.points[0]!.popularShare);
    // The same category curve on the validation window starts from that window's batch view.
    const onValidation = report.validationDiversityCurve!;
    const validationBatch = report.validation.find((r) => r.variant === LAMBDAREC_BATCH && r.protocol === 'next-basket')!;
    expect(onValidation.window).toBe('validation');
    expect(onValidation.cases).toBe(validationBatch.cases);
    expect(onValidation.points[0]!.ndcg).toBeCloseTo(validationBatch.scores.ndcg, 12);
    expect(onValidation.points[0]!.hit).toBeCloseTo(validationBatch.scores.hit, 12);
    // Month by month: the test window from its cutoff, each origin asking for the month after it.
    const { origins, pooled } = report.origins!.test.nextBasket;
    const testCutoff = Date.parse(report.splits[1]!.cutoff);
    expect(origins.map((o) => o.cutoff)).toEqual([isoDay(testCutoff), isoDay(testCutoff + 30 * DAY)]);
    expect(origins[0]!.cases).toBeGreaterThan(10);
    // Fewer customers buy within a month than within the whole window.
    expect(origins[0]!.cases).toBeLessThan(batch.cases);
    expect(origins[0]!.means.map((m) => m.variant)).toEqual([LAMBDAREC_BATCH, P_POP, TIFU_KNN, UP_CF]);
    expect(origins[1]!.comparisons.map((c) => c.b)).toEqual([P_POP, TIFU_KNN, UP_CF]);
    expect(pooled.cases).toBe(origins[0]!.cases + origins[1]!.cases);
    expect(pooled.customers).toBeLessThan(pooled.cases);
    // After a purchase session: as served against the answer before ADR 017 and each baseline with the session.
    const afterPurchase = report.origins!.test.afterPurchase;
    const baselinesWithSession = [P_POP, TIFU_KNN, UP_CF].map((b) => `${b}${WITH_SESSION}`);
    expect(afterPurchase.served.origins[0]!.comparisons.map((c) => c.b)).toEqual([LAMBDAREC_MERGE_ONLY, ...baselinesWithSession]);
    expect(afterPurchase.mergeOnly.origins[0]!.comparisons.map((c) => `${c.a} − ${c.b}`)).toEqual(
      baselinesWithSession.map((b) => `${LAMBDAREC_MERGE_ONLY} − ${b}`),
    );
    // What the session adds: lambdarec's uplift against each baseline's, the means being uplifts.
    const uplifts = report.origins!.test.afterPurchaseUplift;
    expect(uplifts.mergeOnly.origins[0]!.comparisons.map((c) => c.b)).toEqual(baselinesWithSession.map((b) => `uplift of ${b}`));
    const served = afterPurchase.served.origins[0]!.means.find((m) => m.variant === LAMBDAREC_SESSION)!;
    const servedUplift = uplifts.served.origins[0]!.means.find((m) => m.variant === `uplift of ${LAMBDAREC_SESSION}`)!;
    expect(servedUplift.ndcg).not.toBeCloseTo(served.ndcg, 6);
    // Both of lambdarec's uplifts subtract the same batch view: their difference is the levels'.
    expect(uplifts.served.origins[0]!.comparisons.find((c) => c.b === `uplift of ${LAMBDAREC_MERGE_ONLY}`)!.ndcg.mean).toBeCloseTo(
      afterPurchase.served.origins[0]!.comparisons.find((c) => c.b === LAMBDAREC_MERGE_ONLY)!.ndcg.mean,
      12,
    );
    expect(servedUplift.ndcg).toBeGreaterThanOrEqual(-1);
    expect(servedUplift.ndcg).toBeLessThanOrEqual(1);
    // Before the test window: three months before the validation cutoff and the cutoff itself.
    const validationCutoff = Date.parse(report.splits[0]!.cutoff);
    expect(report.origins!.validation.nextBasket.origins.map((o) => o.cutoff)).toEqual(
      [90, 60, 30, 0].map((days) => isoDay(validationCutoff - days * DAY)),
    );
  }, 30_000);

  it('measures accuracy against diversity: re-ranking by category makes the lists more diverse', async () => {
    const file = await writeSynthetic(['MUG', 'BAG', 'CARD']);
    const { lines, stats } = await loadOnlineRetail(file);
    const report = await runEval(lines, stats, file, { seed: 1, testDays: 60, validationDays: 60, searches: SMALL_SEARCHES });
    const batch = report.test.find((r) => r.variant === LAMBDAREC_BATCH && r.protocol === 'next-basket')!;
    const [undiversified, ...diversified] = report.diversityCurve!.points;
    expect(undiversified!.lambda).toBe(0);
    expect(undiversified!.hit).toBeCloseTo(batch.scores.hit, 12);
    expect(undiversified!.ndcg).toBeCloseTo(batch.scores.ndcg, 12);
    expect(undiversified!.diversity).toBeCloseTo(batch.beyond!.diversity, 12);
    expect(diversified.at(-1)!.diversity).toBeGreaterThan(undiversified!.diversity);
    for (const point of diversified) {
      for (const v of [point.hit, point.ndcg, point.diversity]) expect(v).toBeGreaterThanOrEqual(0);
      expect(point.diversity).toBeLessThanOrEqual(1);
    }
  }, 30_000);

  it('gives the same figures for the same seed (deterministic)', async () => {
    const file = await writeSynthetic();
    const { lines, stats } = await loadOnlineRetail(file);
    const options = { seed: 3, sampleUsers: 40, testDays: 60, validationDays: 60, searches: SMALL_SEARCHES };
    const [a, b] = [await runEval(lines, stats, file, options), await runEval(lines, stats, file, options)];
    expect(a.test).toEqual(b.test);
    expect(a.comparisons).toEqual(b.comparisons);
    expect(a.diversityCurve).toEqual(b.diversityCurve);
    expect(a.popularityCurve).toEqual(b.popularityCurve);
    expect(a.origins).toEqual(b.origins);
  }, 30_000);
});

describe('askWithSession', () => {
  const seen: Array<readonly string[] | undefined> = [];
  const recorder: NextBasketRecommender = {
    recommend(_customerId, k, latestBasket) {
      seen.push(latestBasket);
      return ['A', 'B', 'C', 'D'].slice(0, k);
    },
  };
  const at = Date.parse('2011-06-01T10:00:00Z');
  const ask = (type: 'purchase' | 'add_to_cart') => {
    const c: EvalCase = {
      customerId: 'u',
      session: [
        { type, productId: 'B', at },
        { type, productId: 'B', at: at + 1 },
        { type, productId: 'C', at: at + 2 },
      ],
      at: at + 60_000,
      target: new Set(['D']),
    };
    return askWithSession(recorder, c, 2);
  };

  it('passes the session as the latest basket and keeps bought products (customers re-buy)', () => {
    expect(ask('purchase')).toEqual(['A', 'B']);
    expect(seen.at(-1)).toEqual(['B', 'C']);
  });

  it('leaves carted products out of the answer, asking for more to fill the list', () => {
    expect(ask('add_to_cart')).toEqual(['A', 'D']);
  });
});

describe('npm run eval', () => {
  it('writes the markdown report, the HR@k plot and the JSON results for a given file', async () => {
    const file = await writeSynthetic();
    const out = await mkdtemp(path.join(tmpdir(), 'lambdarec-eval-out-'));
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', main, file, '--out', out, '--users', '30'], {
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    });
    expect(stdout).toContain('### next-basket');
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    expect(md).toContain(`| ${LAMBDAREC_BATCH} |`);
    expect(await readFile(path.join(out, 'hit-at-k.svg'), 'utf8')).toContain('<polyline');
    expect(JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')).seed).toBe(42);
  }, 60_000);

  it('refuses a bad option with exit code 2 and says which', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const file = await writeSynthetic();
    await expect(promisify(execFile)(process.execPath, ['--import', 'tsx', main, file, '--users', 'many'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--users must be a positive integer'),
    });
  }, 30_000);
});
