/**
 * The statistics of an online experiment: each variant's click-through rate, the challenger's
 * difference from the baseline in an A/B test, and the preference in an interleaved one, each with
 * an interval and a verdict.
 *
 * The unit of randomisation is the user, and one user's clicks are not independent of each other
 * (a keen shopper clicks a lot, on every list), so every figure is computed from per-user tallies and
 * its interval is clustered by user. Treating each item shown as an independent trial would make the
 * intervals far too narrow and call differences that are only a few keen shoppers.
 *
 * Every figure is a ratio of sums over users, Σ numerator / Σ denominator (clicks / items shown, or
 * (wins − losses) / clicked impressions). Its variance comes from the delta method for a ratio of
 * means (Deng, Knoblich & Lu, "Applying the Delta Method in Metric Analytics", KDD 2018, §3):
 *
 *   Var(R) ≈ N / (N − 1) · Σᵢ (numeratorᵢ − R · denominatorᵢ)² / (Σᵢ denominatorᵢ)²
 *
 * over the N users with data: the cluster-robust (sandwich) variance with its small-sample factor.
 * Nothing here returns NaN: reports are JSON, which cannot carry it.
 */
import { normalQuantile, twoSidedNormalPValue } from './normal-distribution.js';

/** What one user of one variant saw and did. */
export interface UserTally {
  itemsShown: number;
  clicks: number;
}

/**
 * One user's clicked impressions of an interleaved list: those where the challenger's team got more
 * clicks (a win), fewer (a loss) or as many (a tie). Impressions without a click are not counted.
 */
export interface InterleavingTally {
  wins: number;
  losses: number;
  ties: number;
}

export type ExperimentVerdict = 'challenger-better' | 'baseline-better' | 'no-difference-yet';

/**
 * Below these, a verdict is always `no-difference-yet`, whatever the interval says. The interval is
 * a normal approximation: it needs enough users for the central limit theorem to hold on user
 * means (30, the textbook rule of thumb), and enough events, since with a handful of clicks or of
 * decisive impressions it is too narrow (4 clicks against 0 gives |z| > 2 while an exact test of the
 * same counts gives p ≈ 0.12).
 */
export const EXPERIMENT_VERDICT_MINIMUMS = {
  /** A/B: users with items shown, on each side. */
  usersPerVariant: 30,
  /** A/B: users with at least one click, both sides together (a baseline with no click at all can lose). */
  clickingUsers: 10,
  /** Interleaving: users with at least one clicked impression (so as many clicked impressions, at least). */
  usersWithClickedImpressions: 30,
  /** Interleaving: won or lost impressions, all users together: ties say nothing about the direction. */
  decisiveImpressions: 10,
} as const;

export interface CtrWithInterval {
  ctr: number;
  interval: [number, number];
}

export interface VariantComparison {
  /** Challenger CTR − baseline CTR. */
  difference: number;
  interval: [number, number];
  pValue: number;
  verdict: ExperimentVerdict;
}

export interface InterleavingPreference extends InterleavingTally {
  /** (wins − losses) / clicked impressions, in [−1, 1]; above 0 favours the challenger. */
  preference: number;
  interval: [number, number];
  verdict: ExperimentVerdict;
}

/** Σ numerator / Σ denominator over users, with the delta-method variance when it can be estimated. */
interface RatioEstimate {
  ratio: number;
  numeratorSum: number;
  denominatorSum: number;
  /** Users with any data (a non-zero numerator or denominator): the clusters. */
  users: number;
  /** Undefined with fewer than two users: between-user spread cannot be estimated from one. */
  variance: number | undefined;
}

function estimateRatio(numerators: readonly number[], denominators: readonly number[]): RatioEstimate {
  let numeratorSum = 0;
  let denominatorSum = 0;
  let users = 0;
  for (let i = 0; i < numerators.length; i++) {
    const numerator = numerators[i]!;
    const denominator = denominators[i]!;
    numeratorSum += numerator;
    denominatorSum += denominator;
    if (numerator !== 0 || denominator !== 0) users++;
  }
  const ratio = denominatorSum > 0 ? numeratorSum / denominatorSum : 0;
  if (users < 2 || denominatorSum === 0) return { ratio, numeratorSum, denominatorSum, users, variance: undefined };
  let squaredResiduals = 0;
  for (let i = 0; i < numerators.length; i++) squaredResiduals += (numerators[i]! - ratio * denominators[i]!) ** 2;
  const variance = ((users / (users - 1)) * squaredResiduals) / denominatorSum ** 2;
  return { ratio, numeratorSum, denominatorSum, users, variance };
}

function assertCount(value: number, name: string): void {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} is a count (finite, ≥ 0), not ${value}`);
}

function assertConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence is between 0 and 1 exclusive, not ${confidence}`);
}

/** The z of a two-sided interval at this confidence: 1.96 at 95 %. */
const criticalZ = (confidence: number) => normalQuantile(1 - (1 - confidence) / 2);

/**
 * The most the share of events can be when none was seen in `trials` independent trials, at this
 * two-sided confidence: the exact (Clopper–Pearson) bound 1 − (α/2)^(1/n), about 3.7 / n at 95 %
 * ("the rule of three"). 1 when there was no trial at all. It stands in for an interval of zero
 * width when the data have no spread to estimate one from (no click yet).
 */
const noEventUpperBound = (trials: number, confidence: number) => 1 - ((1 - confidence) / 2) ** (1 / trials);

function ctrInterval(estimate: RatioEstimate, confidence: number): [number, number] {
  const { ratio, numeratorSum, denominatorSum, variance } = estimate;
  if (numeratorSum === 0) return [0, noEventUpperBound(denominatorSum, confidence)];
  // One user: their own CTR is all there is, with nothing to say how far other users' lie from it.
  if (variance === undefined) return [0, Math.max(1, ratio)];
  const halfWidth = criticalZ(confidence) * Math.sqrt(variance);
  return [Math.max(0, ratio - halfWidth), ratio + halfWidth];
}

/**
 * A variant's click-through rate, clicks / items shown over all its users, with a `confidence`
 * interval clustered by user (delta method). Degenerate cases: no items shown gives CTR 0 within
 * [0, 1]; no click gives CTR 0 within [0, the rule-of-three bound]; one user gives [0, max(1, CTR)].
 * @param confidence - of the two-sided interval. @defaultValue 0.95
 */
export function ctrWithInterval(users: readonly UserTally[], confidence = 0.95): CtrWithInterval {
  assertConfidence(confidence);
  const estimate = estimateTallies(users);
  return { ctr: estimate.ratio, interval: ctrInterval(estimate, confidence) };
}

function estimateTallies(users: readonly UserTally[]): RatioEstimate & { clickingUsers: number } {
  const clicks: number[] = [];
  const itemsShown: number[] = [];
  let clickingUsers = 0;
  for (const user of users) {
    assertCount(user.clicks, 'clicks');
    assertCount(user.itemsShown, 'itemsShown');
    clicks.push(user.clicks);
    itemsShown.push(user.itemsShown);
    if (user.clicks > 0) clickingUsers++;
  }
  return { ...estimateRatio(clicks, itemsShown), clickingUsers };
}

/** A verdict: enough data, an interval that excludes 0 and a p-value below 1 − confidence, or no verdict yet. */
function verdictOf(
  estimate: number,
  interval: [number, number],
  pValue: number,
  confidence: number,
  enoughData: boolean,
): ExperimentVerdict {
  const excludesZero = interval[0] > 0 || interval[1] < 0;
  if (!enoughData || !excludesZero || !(pValue < 1 - confidence)) return 'no-difference-yet';
  return estimate > 0 ? 'challenger-better' : 'baseline-better';
}

/**
 * The challenger's CTR minus the baseline's, with a `confidence` interval, the two-sided p-value of
 * "no difference" and a verdict (see EXPERIMENT_VERDICT_MINIMUMS for when there is none yet).
 *
 * The interval is the delta method's (a z-interval on two independent ratio estimates), not a
 * bootstrap over users: the experiment report computes it on every request over every user, and the
 * delta method is one pass, deterministic (the same report twice gives the same figures) and, in the
 * regime where a verdict is given at all (≥ 30 users a side), as accurate as the bootstrap (Deng et
 * al. 2018, §4); the tests check its coverage on clustered, skewed data.
 * @param confidence - of the two-sided interval. @defaultValue 0.95
 */
export function compareVariants(baseline: readonly UserTally[], challenger: readonly UserTally[], confidence = 0.95): VariantComparison {
  assertConfidence(confidence);
  const base = estimateTallies(baseline);
  const chal = estimateTallies(challenger);
  const difference = chal.ratio - base.ratio;
  const enoughData =
    base.users >= EXPERIMENT_VERDICT_MINIMUMS.usersPerVariant &&
    chal.users >= EXPERIMENT_VERDICT_MINIMUMS.usersPerVariant &&
    base.clickingUsers + chal.clickingUsers >= EXPERIMENT_VERDICT_MINIMUMS.clickingUsers;
  if (base.variance === undefined || chal.variance === undefined) {
    // A side with fewer than two users, or none: nothing is known of the difference but its range.
    return { difference, interval: [Math.min(-1, difference), Math.max(1, difference)], pValue: 1, verdict: 'no-difference-yet' };
  }
  return comparisonOf(base, chal, base.variance + chal.variance, confidence, enoughData);
}

/** The difference of two ratio estimates given the variance of that difference: interval, p-value, verdict. */
function comparisonOf(
  base: RatioEstimate,
  chal: RatioEstimate,
  variance: number,
  confidence: number,
  enoughData: boolean,
): VariantComparison {
  const difference = chal.ratio - base.ratio;
  let interval: [number, number];
  let pValue: number;
  if (variance > 0) {
    const standardError = Math.sqrt(variance);
    const halfWidth = criticalZ(confidence) * standardError;
    interval = [difference - halfWidth, difference + halfWidth];
    pValue = twoSidedNormalPValue(difference / standardError);
  } else {
    // No spread on either side (typically no click on either): the per-side bounds, combined
    // conservatively, instead of an interval of zero width.
    const [baseLow, baseHigh] = ctrInterval(base, confidence);
    const [chalLow, chalHigh] = ctrInterval(chal, confidence);
    interval = [chalLow - baseHigh, chalHigh - baseLow];
    pValue = difference === 0 ? 1 : 0;
  }
  return { difference, interval, pValue, verdict: verdictOf(difference, interval, pValue, confidence, enoughData) };
}

/** One user's tallies of both teams of an interleaved experiment: the same user saw both. */
export interface PairedUserTally {
  baseline: UserTally;
  challenger: UserTally;
}

/**
 * compareVariants for an interleaved experiment, where every user saw items of both teams: the
 * two CTRs are not independent samples, so the variance of their difference is that of each user's
 * linearised difference (the delta method on the paired residuals), not the sum of two variances.
 * Each user's own tendency to click cancels out, which is what makes interleaving sensitive.
 * @param confidence - of the two-sided interval. @defaultValue 0.95
 */
export function compareTeams(users: readonly PairedUserTally[], confidence = 0.95): VariantComparison {
  assertConfidence(confidence);
  const base = estimateTallies(users.map((user) => user.baseline));
  const chal = estimateTallies(users.map((user) => user.challenger));
  const enoughData =
    users.length >= EXPERIMENT_VERDICT_MINIMUMS.usersPerVariant &&
    base.clickingUsers + chal.clickingUsers >= EXPERIMENT_VERDICT_MINIMUMS.clickingUsers;
  if (base.variance === undefined || chal.variance === undefined) {
    const difference = chal.ratio - base.ratio;
    return { difference, interval: [Math.min(-1, difference), Math.max(1, difference)], pValue: 1, verdict: 'no-difference-yet' };
  }
  let squared = 0;
  for (const { baseline, challenger } of users) {
    const residual =
      (challenger.clicks - chal.ratio * challenger.itemsShown) / chal.denominatorSum -
      (baseline.clicks - base.ratio * baseline.itemsShown) / base.denominatorSum;
    squared += residual * residual;
  }
  return comparisonOf(base, chal, (users.length / (users.length - 1)) * squared, confidence, enoughData);
}

/**
 * The interleaved experiment's preference for the challenger, (wins − losses) / clicked impressions
 * over all users, in [−1, 1] (0: no preference), with a `confidence` interval clustered by user
 * (delta method, clicked impressions as the denominator) and a verdict (see
 * EXPERIMENT_VERDICT_MINIMUMS). No clicked impression, or one user, gives the interval [−1, 1].
 * @param confidence - of the two-sided interval. @defaultValue 0.95
 */
export function interleavingPreference(users: readonly InterleavingTally[], confidence = 0.95): InterleavingPreference {
  assertConfidence(confidence);
  const netWins: number[] = [];
  const clickedImpressions: number[] = [];
  let wins = 0;
  let losses = 0;
  let ties = 0;
  for (const user of users) {
    assertCount(user.wins, 'wins');
    assertCount(user.losses, 'losses');
    assertCount(user.ties, 'ties');
    wins += user.wins;
    losses += user.losses;
    ties += user.ties;
    netWins.push(user.wins - user.losses);
    clickedImpressions.push(user.wins + user.losses + user.ties);
  }
  const estimate = estimateRatio(netWins, clickedImpressions);
  const preference = estimate.ratio;
  const enoughData =
    estimate.users >= EXPERIMENT_VERDICT_MINIMUMS.usersWithClickedImpressions &&
    wins + losses >= EXPERIMENT_VERDICT_MINIMUMS.decisiveImpressions;
  const clamp = (value: number) => Math.min(1, Math.max(-1, value));
  let interval: [number, number];
  let pValue: number;
  if (estimate.variance === undefined) {
    interval = [-1, 1];
    pValue = 1;
  } else if (estimate.variance > 0) {
    const standardError = Math.sqrt(estimate.variance);
    const halfWidth = criticalZ(confidence) * standardError;
    interval = [clamp(preference - halfWidth), clamp(preference + halfWidth)];
    pValue = twoSidedNormalPValue(preference / standardError);
  } else {
    // Every user with the same net share (all ties, or all wins): as many impressions could still
    // have gone the other way as the rule of three allows.
    const slack = noEventUpperBound(estimate.denominatorSum, confidence);
    interval = [clamp(preference - slack), clamp(preference + slack)];
    pValue = preference === 0 ? 1 : 0;
  }
  return { wins, losses, ties, preference, interval, verdict: verdictOf(preference, interval, pValue, confidence, enoughData) };
}
