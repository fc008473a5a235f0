import { seededRandom } from '@lambdarec/domain';
import { describe, expect, it } from 'vitest';
import { pairedBootstrap, quantile } from './bootstrap.js';

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

  it('refuses samples of different sizes', () => {
    expect(() => pairedBootstrap([1, 0], [1], { seed: 1 })).toThrow(RangeError);
  });
});
