/**
 * The standard normal distribution, as much of it as the experiment statistics need: the two-sided
 * tail probability of a z-score and the quantile for an interval. Written out here because the
 * domain library takes no dependency for eight lines of numerics.
 */

/**
 * The complementary error function, erfc(x) = 1 − erf(x), by the Chebyshev fit of Numerical
 * Recipes (Press et al., 2nd ed., §6.2, `erfcc`): fractional error below 1.2e-7 everywhere, the
 * far tail included, so that a tiny p-value keeps its order of magnitude instead of rounding to 0.
 */
export function complementaryErrorFunction(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const polynomial =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const tail = t * Math.exp(-x * x + polynomial);
  return x >= 0 ? tail : 2 - tail;
}

/** P(|Z| ≥ |z|) for a standard normal Z: the two-sided p-value of a z-test. */
export function twoSidedNormalPValue(z: number): number {
  return Math.min(1, Math.max(0, complementaryErrorFunction(Math.abs(z) / Math.SQRT2)));
}

// Acklam's rational approximation of the normal quantile (relative error below 1.15e-9), in its
// central region and its tails.
const CENTRAL_NUMERATOR = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
];
const CENTRAL_DENOMINATOR = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572, 1];
const TAIL_NUMERATOR = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783,
];
const TAIL_DENOMINATOR = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416, 1];
const TAIL_BOUNDARY = 0.02425;

const horner = (coefficients: readonly number[], x: number) => coefficients.reduce((sum, c) => sum * x + c, 0);

/** The z with P(Z ≤ z) = probability, for 0 < probability < 1 (±Infinity at 0 and 1). */
export function normalQuantile(probability: number): number {
  if (!(probability >= 0 && probability <= 1)) throw new RangeError(`a probability is between 0 and 1, not ${probability}`);
  if (probability === 0) return -Infinity;
  if (probability === 1) return Infinity;
  if (probability < TAIL_BOUNDARY) {
    const q = Math.sqrt(-2 * Math.log(probability));
    return horner(TAIL_NUMERATOR, q) / horner(TAIL_DENOMINATOR, q);
  }
  if (probability > 1 - TAIL_BOUNDARY) return -normalQuantile(1 - probability);
  const q = probability - 0.5;
  const r = q * q;
  return (horner(CENTRAL_NUMERATOR, r) * q) / horner(CENTRAL_DENOMINATOR, r);
}
