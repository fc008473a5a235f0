/**
 * Paired bootstrap over customers: each case is one customer, so resampling cases with
 * replacement resamples customers, and both methods keep the same customers in every resample.
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
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const random = seededRandom(options.seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += differences[Math.floor(random() * n)]!;
    means[r] = sum / n;
  }
  means.sort();
  const tail = (1 - confidence) / 2;
  return { mean: total / n, low: quantile(means, tail), high: quantile(means, 1 - tail) };
}
