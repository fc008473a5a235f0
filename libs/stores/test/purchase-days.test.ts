import { describe, expect, it } from 'vitest';
import { parsePurchaseDays } from '../src/purchase-days.js';

describe('parsePurchaseDays', () => {
  it('reads the days in ascending order, whatever order the aggregate gave them in', () => {
    expect(parsePurchaseDays('{19007,19000,19003}')).toEqual([19000, 19003, 19007]);
    expect(parsePurchaseDays('{20001}')).toEqual([20001]);
  });

  it('compares days as numbers, not as text', () => {
    expect(parsePurchaseDays('{10000,9999}')).toEqual([9999, 10000]);
  });

  it('gives no days for a row that is not a purchase', () => {
    expect(parsePurchaseDays(null)).toBeUndefined();
    expect(parsePurchaseDays(undefined)).toBeUndefined();
  });
});
