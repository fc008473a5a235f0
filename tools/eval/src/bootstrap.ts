/**
 * Paired bootstrap over customers: where each case is one customer, resampling cases with
 * replacement resamples customers, and both methods keep the same customers in every resample.
 * Where a customer has several cases (asked at several origins), their cases are resampled
 * together (`clusteredPairedBootstrap`): they are not independent draws.
 */
import { seededRandom } from '@lambdarec/domain';

export interface Interval {
  /** The observed mean difference. */
  mean: number;
  low: number;
  high: number;
}

export interface BootstrapOptions {
  seed: number;
  /** @defaultValue 1000 */
  resamples?: number;
  /** @defaultValue 0.95 */
  confidence?: number;
}

/** Linear interpolation between order statistics of sorted values (quantile type 7). */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('no values');
  const position = (sorted.length - 1) * p;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/**
 * Percentile interval of the mean of `a[i] − b[i]` over cases. The same seed and case count give
 * the same resamples, so every comparison on one protocol is drawn on the same customers.
 */
export function pairedBootstrap(a: ArrayLike<number>, b: ArrayLike<number>, options: BootstrapOptions): Interval {
  if (a.length !== b.length) throw new RangeError(`paired samples differ in size: ${a.length} and ${b.length}`);
  const n = a.length;
  if (n === 0) throw new RangeError('no cases to resample');
  const differences = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += differences[i] = a[i]! - b[i]!;
  return resampledInterval(differences, undefined, total / n, options);
}

/**
 * The percentile interval of the mean over resamples of the units (customers) with replacement:
 * `sums[u]` is unit u's summed difference over its `counts[u]` cases (1 each when undefined).
 */
function resampledInterval(sums: Float64Array, counts: Float64Array | undefined, mean: number, options: BootstrapOptions): Interval {
  const n = sums.length;
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const random = seededRandom(options.seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    let cases = 0;
    for (let i = 0; i < n; i++) {
      const unit = Math.floor(random() * n);
      sum += sums[unit]!;
      cases += counts === undefined ? 1 : counts[unit]!;
    }
    means[r] = sum / cases;
  }
  means.sort();
  const tail = (1 - confidence) / 2;
  return { mean, low: quantile(means, tail), high: quantile(means, 1 - tail) };
}

/**
 * Percentile interval of the mean of `a[i] − b[i]` over cases, resampling whole customers
 * (`customers[i]` numbers case i's customer): a customer drawn twice brings all their cases twice.
 * The mean stays one over cases, so a customer with more cases weighs more, as in the tables.
 */
export function clusteredPairedBootstrap(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  customers: ArrayLike<number>,
  options: BootstrapOptions,
): Interval {
  if (a.length !== b.length || a.length !== customers.length)
    throw new RangeError(`paired samples and their customers differ in size: ${a.length}, ${b.length} and ${customers.length}`);
  if (a.length === 0) throw new RangeError('no cases to resample');
  const index = new Map<number, number>();
  const sums: number[] = [];
  const counts: number[] = [];
  let total = 0;
  for (let i = 0; i < a.length; i++) {
    let c = index.get(customers[i]!);
    if (c === undefined) {
      index.set(customers[i]!, (c = sums.length));
      sums.push(0);
      counts.push(0);
    }
    const difference = a[i]! - b[i]!;
    sums[c]! += difference;
    counts[c]!++;
    total += difference;
  }
  return resampledInterval(Float64Array.from(sums), Float64Array.from(counts), total / a.length, options);
}
