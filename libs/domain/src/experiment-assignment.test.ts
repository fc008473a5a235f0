import { describe, expect, it } from 'vitest';
import { assignVariant } from './experiment-assignment.js';

describe('assignVariant', () => {
  it('gives a user the same variant every time, and another experiment an independent split', () => {
    const first = Array.from({ length: 1000 }, (_, i) => assignVariant('exp-1', `u${i}`, [1, 1]));
    expect(Array.from({ length: 1000 }, (_, i) => assignVariant('exp-1', `u${i}`, [1, 1]))).toEqual(first);
    const second = Array.from({ length: 1000 }, (_, i) => assignVariant('exp-2', `u${i}`, [1, 1]));
    const agree = first.filter((variant, i) => variant === second[i]).length;
    expect(agree).toBeGreaterThan(440);
    expect(agree).toBeLessThan(560);
  });

  it('splits sequential user ids by the weights (within 3 standard errors)', () => {
    const counts = [0, 0, 0];
    const n = 30_000;
    for (let i = 0; i < n; i++) counts[assignVariant('exp', `user-${i}`, [1, 2, 1])]!++;
    const expected = [0.25, 0.5, 0.25];
    counts.forEach((count, index) => {
      const p = expected[index]!;
      expect(Math.abs(count / n - p)).toBeLessThan(3 * Math.sqrt((p * (1 - p)) / n));
    });
  });

  it('never assigns a variant of weight 0, and refuses weights that sum to nothing', () => {
    for (let i = 0; i < 500; i++) expect(assignVariant('exp', `u${i}`, [0, 3])).toBe(1);
    expect(() => assignVariant('exp', 'u1', [0, 0])).toThrow(RangeError);
  });
});
