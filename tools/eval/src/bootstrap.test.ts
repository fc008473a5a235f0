import { seededRandom } from '@lambdarec/domain';
import { describe, expect, it } from 'vitest';
import { clusteredPairedBootstrap, pairedBootstrap, quantile } from './bootstrap.js';

describe('quantile', () => {
  it('interpolates between order statistics', () => {
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5], 1)).toBe(5);
  });
});

describe('pairedBootstrap', () => {
  // Per-customer hits of two methods: b hits with p = 0.5, a hits whenever b does and on 20 % of
  // the others, so the true difference is 0.5 · 0.2 = 0.1.
  const random = seededRandom(11);
  const b = Float64Array.from({ length: 3000 }, () => (random() < 0.5 ? 1 : 0));
  const a = b.map((hit) => (hit === 1 || random() < 0.2 ? 1 : 0));

  it('holds the true difference on a synthetic case, and leaves 0 out', () => {
    const interval = pairedBootstrap(a, b, { seed: 1 });
    expect(interval.low).toBeLessThan(0.1);
    expect(interval.high).toBeGreaterThan(0.1);
    expect(interval.low).toBeGreaterThan(0);
    expect(interval.mean).toBeGreaterThan(interval.low);
    expect(interval.mean).toBeLessThan(interval.high);
  });

  it('is seeded: the same seed gives the same interval, another seed a slightly different one', () => {
    expect(pairedBootstrap(a, b, { seed: 1 })).toEqual(pairedBootstrap(a, b, { seed: 1 }));
    expect(pairedBootstrap(a, b, { seed: 2 })).not.toEqual(pairedBootstrap(a, b, { seed: 1 }));
  });

  it('resamples pairs: a constant per-customer difference has no spread, however noisy the scores', () => {
    const noisy = Float64Array.from({ length: 500 }, () => random());
    const shifted = noisy.map((x) => x + 0.05);
    const interval = pairedBootstrap(shifted, noisy, { seed: 3, resamples: 200 });
    expect(interval.low).toBeCloseTo(0.05, 12);
    expect(interval.high).toBeCloseTo(0.05, 12);
  });

  it('gives the figures it gave before it shared its resampling with the clustered bootstrap', () => {
    const a = [1, 0, 1, 1, 0, 0.5, 0.25, 1, 0, 0.75];
    const b = [0, 0, 1, 0, 1, 0.5, 0, 0.5, 0, 0.25];
    expect(pairedBootstrap(a, b, { seed: 7, resamples: 200 })).toEqual({ mean: 0.225, low: -0.07562499999999989, high: 0.525 });
  });

  it('refuses samples of different sizes', () => {
    expect(() => pairedBootstrap([1, 0], [1], { seed: 1 })).toThrow(RangeError);
  });
});

describe('clusteredPairedBootstrap', () => {
  const random = seededRandom(5);

  it('resamples customers, not cases: ten identical cases per customer widen the interval by about √10', () => {
    // 300 customers, each with one difference repeated on ten cases (the same customer at ten origins).
    const perCustomer = Float64Array.from({ length: 300 }, () => (random() < 0.5 ? 1 : 0) - (random() < 0.5 ? 1 : 0));
    const a = Float64Array.from({ length: 3000 }, (_, i) => perCustomer[Math.floor(i / 10)]!);
    const b = new Float64Array(3000);
    const customers = Int32Array.from({ length: 3000 }, (_, i) => Math.floor(i / 10));
    const asCases = pairedBootstrap(a, b, { seed: 4 });
    const asCustomers = clusteredPairedBootstrap(a, b, customers, { seed: 4 });
    expect(asCustomers.mean).toBeCloseTo(asCases.mean, 12);
    const ratio = (asCustomers.high - asCustomers.low) / (asCases.high - asCases.low);
    expect(ratio).toBeGreaterThan(2.5);
    expect(ratio).toBeLessThan(4);
  });

  it('weighs customers by their cases: the mean is over cases, as the tables average', () => {
    // Customer 0 has three cases with difference 1, customer 1 one case with difference 0.
    const interval = clusteredPairedBootstrap([1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1], { seed: 1, resamples: 500 });
    expect(interval.mean).toBe(0.75);
    expect(interval.low).toBe(0);
    expect(interval.high).toBe(1);
  });

  it('has no spread for a constant difference, and refuses mismatched inputs', () => {
    const noisy = Float64Array.from({ length: 40 }, () => random());
    const interval = clusteredPairedBootstrap(
      noisy.map((x) => x + 0.02),
      noisy,
      noisy.map((_, i) => i % 7),
      { seed: 2, resamples: 100 },
    );
    expect(interval.low).toBeCloseTo(0.02, 12);
    expect(interval.high).toBeCloseTo(0.02, 12);
    expect(() => clusteredPairedBootstrap([1, 0], [1, 0], [0], { seed: 1 })).toThrow(RangeError);
  });
});
