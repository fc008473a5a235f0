import { describe, expect, it } from 'vitest';
import { complementaryErrorFunction, normalQuantile, twoSidedNormalPValue } from './normal-distribution.js';

describe('the standard normal distribution', () => {
  it('gives the textbook quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8);
    expect(normalQuantile(0.995)).toBeCloseTo(2.575829304, 8);
    expect(normalQuantile(0.05)).toBeCloseTo(-1.644853627, 8);
    expect(normalQuantile(0.5)).toBe(0);
    // The tails, where the other branch of the approximation takes over.
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902, 6);
    expect(normalQuantile(1 - 1e-10)).toBeCloseTo(6.361340902, 5);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(() => normalQuantile(1.5)).toThrow(RangeError);
  });

  it('gives the two-sided p-value of a z-score, the far tail with its order of magnitude', () => {
    expect(twoSidedNormalPValue(1.959963985)).toBeCloseTo(0.05, 7);
    expect(twoSidedNormalPValue(-1.959963985)).toBeCloseTo(0.05, 7);
    expect(twoSidedNormalPValue(0)).toBe(1);
    expect(twoSidedNormalPValue(3)).toBeCloseTo(0.0026997961, 8);
    // erfc(10 / √2) = 1.5239706e-23: a relative error, not an absolute one.
    expect(Math.abs(twoSidedNormalPValue(10) / 1.5239706e-23 - 1)).toBeLessThan(1e-6);
    expect(complementaryErrorFunction(-1)).toBeCloseTo(2 - 0.1572992071, 7);
  });
});
