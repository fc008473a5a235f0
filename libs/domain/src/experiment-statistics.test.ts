import { describe, expect, it } from 'vitest';
import { drawBeta, drawBinomial, drawGeometric, type Uniform } from '../test/random-draws.js';
import {
  compareTeams,
  compareVariants,
  ctrWithInterval,
  EXPERIMENT_VERDICT_MINIMUMS,
  interleavingPreference,
  type InterleavingTally,
  type PairedUserTally,
  type UserTally,
} from './experiment-statistics.js';
import { seededRandom } from './seeded-random.js';

const Z_95 = 1.959963985;
const tallies = (...pairs: [itemsShown: number, clicks: number][]): UserTally[] =>
  pairs.map(([itemsShown, clicks]) => ({ itemsShown, clicks }));
const repeat = <T>(count: number, make: (i: number) => T): T[] => Array.from({ length: count }, (_, i) => make(i));
/** What a report does with a figure: NaN would come back as null. */
const survivesJson = (value: unknown) => expect(JSON.parse(JSON.stringify(value))).toEqual(value);

describe('the CTR of a variant', () => {
  it('is clicks over items shown, with the delta-method interval clustered by user', () => {
    // R = 4 / 20; residuals 1 − 2 and 3 − 2; Var = 2 / 1 · 2 / 20² = 0.01.
    const { ctr, interval } = ctrWithInterval(tallies([10, 1], [10, 3]));
    expect(ctr).toBeCloseTo(0.2, 12);
    expect(interval[0]).toBeCloseTo(0.2 - Z_95 * 0.1, 8);
    expect(interval[1]).toBeCloseTo(0.2 + Z_95 * 0.1, 8);
  });

  it('weighs each user by the items they saw: a ratio of sums, not a mean of ratios', () => {
    expect(ctrWithInterval(tallies([90, 9], [10, 5])).ctr).toBeCloseTo(0.14, 12);
  });

  it('is wider than the interval that takes every item for an independent trial, when users differ', () => {
    const users = repeat(200, (i) => ({ itemsShown: 50, clicks: i % 10 === 0 ? 20 : 0 }));
    const { ctr, interval } = ctrWithInterval(users);
    const binomialHalfWidth = Z_95 * Math.sqrt((ctr * (1 - ctr)) / (200 * 50));
    expect(interval[1] - ctr).toBeGreaterThan(2 * binomialHalfWidth);
  });

  it('has a narrower interval at a lower confidence', () => {
    const users = tallies([10, 1], [10, 3], [20, 2], [5, 0]);
    const wide = ctrWithInterval(users, 0.99).interval;
    const narrow = ctrWithInterval(users, 0.8).interval;
    expect(wide[1] - wide[0]).toBeGreaterThan(narrow[1] - narrow[0]);
  });

  it('knows nothing without items shown: 0 within [0, 1], with no users or with users who saw nothing', () => {
    expect(ctrWithInterval([])).toEqual({ ctr: 0, interval: [0, 1] });
    expect(ctrWithInterval(tallies([0, 0], [0, 0]))).toEqual({ ctr: 0, interval: [0, 1] });
  });

  it('bounds the CTR by the rule of three when nobody clicked, instead of an interval of zero width', () => {
    const { ctr, interval } = ctrWithInterval(repeat(100, () => ({ itemsShown: 10, clicks: 0 })));
    expect(ctr).toBe(0);
    expect(interval[0]).toBe(0);
    expect(interval[1]).toBeCloseTo(1 - 0.025 ** (1 / 1000), 12);
    expect(interval[1]).toBeCloseTo(3.69 / 1000, 4);
  });

  it('gives one user the range [0, 1]: their CTR says nothing of how other users differ from them', () => {
    expect(ctrWithInterval(tallies([10, 2]))).toEqual({ ctr: 0.2, interval: [0, 1] });
  });

  it('never goes below 0', () => {
    expect(ctrWithInterval(tallies([100, 0], [100, 0], [1, 1])).interval[0]).toBe(0);
  });

  it('rejects counts that are not counts', () => {
    expect(() => ctrWithInterval(tallies([10, -1]))).toThrow(RangeError);
    expect(() => ctrWithInterval(tallies([Number.NaN, 1]))).toThrow(RangeError);
    expect(() => ctrWithInterval(tallies([10, 1]), 1)).toThrow(RangeError);
  });
});

describe('the comparison of two variants', () => {
  it('is the difference of the CTRs, with the variances of the two sides added', () => {
    // Each side has SE 0.1 (as above); the difference 0.3 has SE √0.02, z = 2.1213, p = 0.033895.
    const comparison = compareVariants(tallies([10, 1], [10, 3]), tallies([10, 4], [10, 6]));
    expect(comparison.difference).toBeCloseTo(0.3, 12);
    expect(comparison.interval[0]).toBeCloseTo(0.3 - Z_95 * Math.SQRT2 * 0.1, 8);
    expect(comparison.interval[1]).toBeCloseTo(0.3 + Z_95 * Math.SQRT2 * 0.1, 8);
    expect(comparison.pValue).toBeCloseTo(0.033895, 5);
    // Significant on its face, but two users a side are no evidence.
    expect(comparison.verdict).toBe('no-difference-yet');
  });

  it(`gives a verdict from ${EXPERIMENT_VERDICT_MINIMUMS.usersPerVariant} users a side, in the direction of the difference`, () => {
    const side = (count: number, low: number, high: number) => repeat(count, (i) => ({ itemsShown: 10, clicks: i % 2 === 0 ? low : high }));
    const minimum = EXPERIMENT_VERDICT_MINIMUMS.usersPerVariant;
    expect(compareVariants(side(minimum, 0, 2), side(minimum, 4, 6)).verdict).toBe('challenger-better');
    expect(compareVariants(side(minimum, 4, 6), side(minimum, 0, 2)).verdict).toBe('baseline-better');
    expect(compareVariants(side(minimum - 1, 0, 2), side(minimum, 4, 6)).verdict).toBe('no-difference-yet');
    expect(compareVariants(side(minimum, 0, 2), side(minimum - 1, 4, 6)).verdict).toBe('no-difference-yet');
  });

  it('gives no verdict on a handful of clicks, where the normal approximation is too sure', () => {
    // 4 clicks against none: p ≈ 0.04 by the interval's z, ≈ 0.12 by an exact test.
    const baseline = repeat(100, () => ({ itemsShown: 10, clicks: 0 }));
    const challenger = repeat(100, (i) => ({ itemsShown: 10, clicks: i < 4 ? 1 : 0 }));
    const comparison = compareVariants(baseline, challenger);
    expect(comparison.pValue).toBeLessThan(0.05);
    expect(comparison.verdict).toBe('no-difference-yet');
    // With enough clicking users, a baseline without any click loses.
    const clearly = repeat(100, (i) => ({ itemsShown: 10, clicks: i < 20 ? 1 : 0 }));
    expect(compareVariants(baseline, clearly).verdict).toBe('challenger-better');
  });

  it('says no difference, with a range and p = 1, when a side has fewer than two users', () => {
    expect(compareVariants([], [])).toEqual({ difference: 0, interval: [-1, 1], pValue: 1, verdict: 'no-difference-yet' });
    expect(compareVariants(tallies([10, 1]), tallies([10, 2], [10, 3]))).toMatchObject({ interval: [-1, 1], pValue: 1 });
    expect(compareVariants(tallies([0, 0], [0, 0]), tallies([10, 2], [10, 3])).verdict).toBe('no-difference-yet');
  });

  it('compares two variants without any click by their rule-of-three bounds, with p = 1', () => {
    const nobody = repeat(100, () => ({ itemsShown: 10, clicks: 0 }));
    const comparison = compareVariants(nobody, nobody);
    const bound = 1 - 0.025 ** (1 / 1000);
    expect(comparison.difference).toBe(0);
    expect(comparison.interval[0]).toBeCloseTo(-bound, 12);
    expect(comparison.interval[1]).toBeCloseTo(bound, 12);
    expect(comparison).toMatchObject({ pValue: 1, verdict: 'no-difference-yet' });
  });

  it('never answers NaN, whatever the edge', () => {
    const edges: UserTally[][] = [
      [],
      tallies([0, 0]),
      tallies([10, 0]),
      tallies([10, 10], [10, 10]),
      tallies([10, 2]),
      tallies([10, 1], [10, 3]),
    ];
    for (const baseline of edges) {
      survivesJson(ctrWithInterval(baseline));
      for (const challenger of edges) survivesJson(compareVariants(baseline, challenger));
    }
  });
});

describe('the preference of an interleaved experiment', () => {
  it('is (wins − losses) over clicked impressions, its interval clustered by user', () => {
    // d = 1, −1, 1 over m = 2, 1, 1: R = 1 / 4; residuals 0.5, −1.25, 0.75; Var = 3 / 2 · 2.375 / 4².
    const users: InterleavingTally[] = [
      { wins: 1, losses: 0, ties: 1 },
      { wins: 0, losses: 1, ties: 0 },
      { wins: 1, losses: 0, ties: 0 },
    ];
    const result = interleavingPreference(users);
    const standardError = Math.sqrt((1.5 * 2.375) / 16);
    expect(result).toMatchObject({ wins: 2, losses: 1, ties: 1, verdict: 'no-difference-yet' });
    expect(result.preference).toBeCloseTo(0.25, 12);
    expect(result.interval[0]).toBeCloseTo(0.25 - Z_95 * standardError, 8);
    // 0.25 + 0.92 is past the end of the scale.
    expect(result.interval[1]).toBe(1);
  });

  it(`gives a verdict from ${EXPERIMENT_VERDICT_MINIMUMS.usersWithClickedImpressions} users with clicked impressions, and ${EXPERIMENT_VERDICT_MINIMUMS.decisiveImpressions} decisive ones`, () => {
    const minimum = EXPERIMENT_VERDICT_MINIMUMS.usersWithClickedImpressions;
    const leaning = (count: number, sign: 1 | -1) =>
      repeat(count, (i) =>
        i % 3 === 0 ? { wins: 0, losses: 0, ties: 1 } : sign > 0 ? { wins: 2, losses: 1, ties: 0 } : { wins: 1, losses: 2, ties: 0 },
      );
    expect(interleavingPreference(leaning(minimum, 1)).verdict).toBe('challenger-better');
    expect(interleavingPreference(leaning(minimum, -1)).verdict).toBe('baseline-better');
    expect(interleavingPreference(leaning(minimum - 1, 1)).verdict).toBe('no-difference-yet');
    // Every user clicked, but only nine impressions went one way: wins all, and still no verdict.
    const mostlyTies = repeat(minimum, (i) => ({
      wins: i < EXPERIMENT_VERDICT_MINIMUMS.decisiveImpressions - 1 ? 1 : 0,
      losses: 0,
      ties: 1,
    }));
    expect(interleavingPreference(mostlyTies).verdict).toBe('no-difference-yet');
  });

  it('knows nothing without a clicked impression or with one user', () => {
    expect(interleavingPreference([])).toEqual({
      wins: 0,
      losses: 0,
      ties: 0,
      preference: 0,
      interval: [-1, 1],
      verdict: 'no-difference-yet',
    });
    expect(interleavingPreference([{ wins: 3, losses: 0, ties: 0 }])).toMatchObject({
      preference: 1,
      interval: [-1, 1],
      verdict: 'no-difference-yet',
    });
  });

  it('bounds an all-ties or all-wins experiment by the rule of three instead of an interval of zero width', () => {
    const ties = interleavingPreference(repeat(50, () => ({ wins: 0, losses: 0, ties: 2 })));
    const slack = 1 - 0.025 ** (1 / 100);
    expect(ties.preference).toBe(0);
    expect(ties.interval[0]).toBeCloseTo(-slack, 12);
    expect(ties.interval[1]).toBeCloseTo(slack, 12);
    expect(ties.verdict).toBe('no-difference-yet');
    const sweep = interleavingPreference(repeat(50, () => ({ wins: 2, losses: 0, ties: 0 })));
    expect(sweep.preference).toBe(1);
    expect(sweep.interval[0]).toBeCloseTo(1 - slack, 12);
    expect(sweep.verdict).toBe('challenger-better');
  });

  it('never answers NaN', () => {
    for (const users of [
      [],
      [{ wins: 0, losses: 0, ties: 0 }],
      [{ wins: 0, losses: 0, ties: 1 }],
      repeat(3, () => ({ wins: 1, losses: 1, ties: 0 })),
    ]) {
      survivesJson(interleavingPreference(users));
    }
  });
});

/**
 * Clustered data as a shop produces it: each user has their own click propensity (beta-distributed:
 * most users click rarely, a few a lot) and sees a varying number of lists of 10 items.
 */
function simulateVariant(users: number, propensity: { a: number; b: number }, uniform: Uniform): UserTally[] {
  return repeat(users, () => {
    const ctr = drawBeta(propensity.a, propensity.b, uniform);
    const itemsShown = 10 * (1 + drawGeometric(0.3, uniform));
    return { itemsShown, clicks: drawBinomial(itemsShown, ctr, uniform) };
  });
}

/**
 * Interleaved impressions as a shop produces them: each user has their own share of ties and their
 * own leaning (beta-distributed around the population's), and a varying number of clicked impressions.
 */
function simulateInterleaving(users: number, leaning: { a: number; b: number }, uniform: Uniform): InterleavingTally[] {
  return repeat(users, () => {
    const tieShare = drawBeta(2, 5, uniform);
    const winShare = drawBeta(leaning.a, leaning.b, uniform);
    const tally = { wins: 0, losses: 0, ties: 0 };
    const impressions = 1 + drawGeometric(0.4, uniform);
    for (let i = 0; i < impressions; i++) {
      if (uniform() < tieShare) tally.ties++;
      else if (uniform() < winShare) tally.wins++;
      else tally.losses++;
    }
    return tally;
  });
}

const RUNS = 500;
const shareOf = (runs: number, holds: (run: number) => boolean) => repeat(runs, (run) => holds(run)).filter(Boolean).length / runs;

describe('calibration over seeded simulations', () => {
  // The CTR of a user is Beta(0.5, 9.5): mean 5 %, and a tenth of users over 13 %.
  const BASELINE = { a: 0.5, b: 9.5 };
  // Beta(0.6, 9.4): mean 6 %, so the true difference is 0.01 (items shown do not depend on the CTR).
  const CHALLENGER = { a: 0.6, b: 9.4 };
  const TRUE_DIFFERENCE = 0.01;

  it('calls 5 % ± 2.5 % of A/A tests significant at 95 %', () => {
    const uniform = seededRandom(20_240_601);
    const share = shareOf(
      RUNS,
      () =>
        compareVariants(simulateVariant(300, BASELINE, uniform), simulateVariant(300, BASELINE, uniform)).verdict !== 'no-difference-yet',
    );
    expect(share).toBeGreaterThanOrEqual(0.025);
    expect(share).toBeLessThanOrEqual(0.075);
  });

  it('covers the true difference of an A/B test 95 % ± 2.5 % of the time, and each CTR as often', () => {
    const uniform = seededRandom(7_001);
    let differenceCovered = 0;
    let ctrCovered = 0;
    for (let run = 0; run < RUNS; run++) {
      const baseline = simulateVariant(300, BASELINE, uniform);
      const { interval } = compareVariants(baseline, simulateVariant(300, CHALLENGER, uniform));
      if (interval[0] <= TRUE_DIFFERENCE && TRUE_DIFFERENCE <= interval[1]) differenceCovered++;
      const ctr = ctrWithInterval(baseline).interval;
      if (ctr[0] <= 0.05 && 0.05 <= ctr[1]) ctrCovered++;
    }
    expect(differenceCovered / RUNS).toBeGreaterThanOrEqual(0.925);
    expect(differenceCovered / RUNS).toBeLessThanOrEqual(0.975);
    // One skewed ratio alone covers a little less at 300 users (about 94 % over many seeds).
    expect(ctrCovered / RUNS).toBeGreaterThanOrEqual(0.91);
    expect(ctrCovered / RUNS).toBeLessThanOrEqual(0.975);
  });

  it('calls 5 % ± 2.5 % of interleaved experiments without a preference significant at 95 %', () => {
    const uniform = seededRandom(31_337);
    // Users lean either way (Beta(2, 2) around an even split), but the population does not.
    const share = shareOf(
      RUNS,
      () => interleavingPreference(simulateInterleaving(200, { a: 2, b: 2 }, uniform)).verdict !== 'no-difference-yet',
    );
    expect(share).toBeGreaterThanOrEqual(0.025);
    expect(share).toBeLessThanOrEqual(0.075);
  });

  it('covers the true preference of an interleaved experiment 95 % ± 2.5 % of the time', () => {
    const uniform = seededRandom(4_242);
    // Decisive impressions are won with Beta(3, 2) odds, mean 0.6, and tie with mean 2 / 7:
    // (wins − losses) / clicked = (1 − 2/7) · (2 · 0.6 − 1) = 1 / 7.
    const truth = 1 / 7;
    const covered = shareOf(RUNS, () => {
      const { interval } = interleavingPreference(simulateInterleaving(200, { a: 3, b: 2 }, uniform));
      return interval[0] <= truth && truth <= interval[1];
    });
    expect(covered).toBeGreaterThanOrEqual(0.925);
    expect(covered).toBeLessThanOrEqual(0.975);
  });

  /**
   * Interleaved lists as a shop produces them: each user has one appetite (Beta-distributed), and
   * each list shows five items of each team; a team's items are clicked at the user's appetite
   * times the team's lift. Both teams' CTRs move with the user: the pairing is what compareTeams uses.
   */
  const simulateTeams = (users: number, challengerLift: number, uniform: Uniform): PairedUserTally[] =>
    repeat(users, () => {
      const appetite = drawBeta(BASELINE.a, BASELINE.b, uniform);
      const itemsShown = 5 * (1 + drawGeometric(0.3, uniform));
      return {
        baseline: { itemsShown, clicks: drawBinomial(itemsShown, appetite, uniform) },
        challenger: { itemsShown, clicks: drawBinomial(itemsShown, Math.min(1, appetite * challengerLift), uniform) },
      };
    });

  it('calls 5 % ± 2.5 % of interleaved team comparisons without a difference significant, pairing each user’s two teams', () => {
    const uniform = seededRandom(77_077);
    const paired = shareOf(RUNS, () => compareTeams(simulateTeams(300, 1, uniform)).verdict !== 'no-difference-yet');
    expect(paired).toBeGreaterThanOrEqual(0.025);
    expect(paired).toBeLessThanOrEqual(0.075);
  });

  it('covers the true team difference 95 % ± 2.5 % of the time, with a narrower interval than treating the teams as independent', () => {
    const uniform = seededRandom(88_088);
    // Mean appetite 5 %, the challenger's items 1.2 times as attractive: 6 % − 5 % = 0.01.
    const truth = 0.01;
    let covered = 0;
    let narrower = 0;
    for (let run = 0; run < RUNS; run++) {
      const users = simulateTeams(300, 1.2, uniform);
      const { interval } = compareTeams(users);
      if (interval[0] <= truth && truth <= interval[1]) covered++;
      const independent = compareVariants(
        users.map((u) => u.baseline),
        users.map((u) => u.challenger),
      ).interval;
      if (interval[1] - interval[0] < independent[1] - independent[0]) narrower++;
    }
    expect(covered / RUNS).toBeGreaterThanOrEqual(0.925);
    expect(covered / RUNS).toBeLessThanOrEqual(0.975);
    expect(narrower / RUNS).toBeGreaterThan(0.95);
  });
});
