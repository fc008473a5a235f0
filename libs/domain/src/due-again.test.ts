import { describe, expect, it } from 'vitest';
import { addGaps, isDue, medianGap, type GapCounts } from './due-again.js';
import { computeBatchModel } from './batch-model.js';
import { ProductFactsAccumulator } from './product-facts.js';
import { utcDay } from './rebuy-vector.js';
import { AS_OF, buildInteraction, policy } from '../test/batch-history.js';

const today = utcDay(AS_OF);

describe('the usual wait before a re-buy', () => {
  it('is the median gap between consecutive purchase days, the lower middle one of an even count', () => {
    const counts: GapCounts = new Map();
    addGaps(counts, [0, 7, 14, 30]); // 7, 7, 16
    expect(medianGap(counts)).toBe(7);
    addGaps(counts, [100, 130, 160]); // 30, 30
    expect(medianGap(counts)).toBe(16);
    expect(medianGap(new Map())).toBeUndefined();
  });

  it('a product is due once its usual wait has passed, not a day before; nothing is said without a wait', () => {
    expect(isDue(6, 7)).toBe(false);
    expect(isDue(7, 7)).toBe(true);
    expect(isDue(40, 7)).toBe(true);
    expect(isDue(3, null)).toBeUndefined();
  });

  it("is the product's own with enough repeats, else its category's, else none", () => {
    const facts = new ProductFactsAccumulator(AS_OF, { ...policy, dueMinRepeats: 3 });
    const bought = (userId: string, productId: string, category: string, purchaseDays: number[]) =>
      facts.add(buildInteraction({ userId, productId, category, type: 'purchase', count: purchaseDays.length, purchaseDays }));
    // tea: three repeats of its own (gaps 10, 10, 12); coffee: one (gap 30), but tea's category has four.
    bought('a', 'tea', 'drinks', [today - 20, today - 10, today]);
    bought('b', 'tea', 'drinks', [today - 12, today]);
    bought('c', 'coffee', 'drinks', [today - 30, today]);
    // sofa: bought once by each of its buyers, in a category of its own.
    bought('d', 'sofa', 'furniture', [today]);
    bought('e', 'sofa', 'furniture', [today - 100]);
    const wait = new Map(facts.facts().map((f) => [f.productId, f.rebuyIntervalDays]));
    expect(wait.get('tea')).toBe(10);
    // The category pools 10, 10, 12 and 30: lower middle 10.
    expect(wait.get('coffee')).toBe(10);
    expect(wait.get('sofa')).toBeNull();
  });
});

describe("'batch:due-again' in a user's list", () => {
  // Five customers buy tea every 7 days, so its usual wait is 7 days.
  const regulars = ['r1', 'r2', 'r3', 'r4', 'r5'].map((userId) =>
    buildInteraction({ userId, productId: 'tea', type: 'purchase', count: 3, purchaseDays: [today - 60, today - 53, today - 46] }),
  );
  const listOf = (daysAgo: number, overrides = {}) =>
    computeBatchModel(
      [...regulars, buildInteraction({ userId: 'me', productId: 'tea', type: 'purchase', purchaseDays: [today - daysAgo] })],
      AS_OF,
      { ...policy, customerNeighbours: 0, ...overrides },
    ).perUser.get('me')!;

  it('names a product bought before whose usual wait has passed, and a product bought too recently stays bought-before', () => {
    expect(listOf(7).find((item) => item.productId === 'tea')?.reasons).toEqual(['batch:due-again']);
    expect(listOf(30).find((item) => item.productId === 'tea')?.reasons).toEqual(['batch:due-again']);
    expect(listOf(6).find((item) => item.productId === 'tea')?.reasons).toEqual(['batch:bought-before']);
  });

  it('holds a product not yet due back by notDueWeight, and leaves a due one as it was', () => {
    const scoreOf = (daysAgo: number, notDueWeight: number) =>
      listOf(daysAgo, { notDueWeight }).find((item) => item.productId === 'tea')?.score;
    expect(scoreOf(3, 0.5)).toBeCloseTo(scoreOf(3, 1)! / 2, 12);
    expect(scoreOf(9, 0.5)).toBe(scoreOf(9, 1));
  });
});
