import { describe, expect, it } from 'vitest';
import { rebuyVector, utcDay, type RebuyVectorPolicy } from './rebuy-vector.js';
import { AS_OF, buildInteraction, DAY } from '../test/batch-history.js';

const tifu: RebuyVectorPolicy = { rebuyGroupSize: 2, rebuyWithinGroupDecay: 0.5, rebuyAcrossGroupDecay: 0.25 };
const today = utcDay(AS_OF);

describe('rebuyVector', () => {
  it("weighs each basket (a day's purchases) by its place in its group and its group's place, as TIFU-KNN's user vector", () => {
    // Three baskets, m 2: groups {d0} and {d1, d2}; G = 2.
    // d0: r_g^1 / 2 · 1/1 = 0.125; d1: r_g^0 / 2 · r_b / 2 = 0.125; d2: 1/2 · 1/2 = 0.25.
    const vector = rebuyVector(
      [
        buildInteraction({ productId: 'a', type: 'purchase', purchaseDays: [today - 2, today] }),
        buildInteraction({ productId: 'b', type: 'purchase', purchaseDays: [today - 1] }),
        buildInteraction({ productId: 'c', type: 'purchase', purchaseDays: [today - 2, today - 1, today] }),
      ],
      tifu,
    );
    expect(Object.fromEntries(vector)).toEqual({ a: 0.125 + 0.25, b: 0.125, c: 0.5 });
  });

  it('reads only purchases, and takes the day of the latest purchase when the days are not given', () => {
    const vector = rebuyVector(
      [
        buildInteraction({ productId: 'seen', type: 'view', count: 9 }),
        buildInteraction({ productId: 'carted', type: 'add_to_cart' }),
        buildInteraction({ productId: 'old', type: 'purchase', lastAt: AS_OF - 3 * DAY }),
        buildInteraction({ productId: 'new', type: 'purchase', lastAt: AS_OF }),
      ],
      tifu,
    );
    // Two baskets, one group: the older weighs r_b / 2, the newer 1 / 2.
    expect(Object.fromEntries(vector)).toEqual({ old: 0.25, new: 0.5 });
  });

  it('counts a product once per basket however many times it was bought that day, and gives nothing without purchases', () => {
    const once = rebuyVector([buildInteraction({ productId: 'a', type: 'purchase', count: 7, purchaseDays: [today] })], tifu);
    expect(once.get('a')).toBe(1);
    expect(rebuyVector([buildInteraction({ type: 'view' })], tifu).size).toBe(0);
  });

  it('is the same whatever order the rows come in', () => {
    const rows = [
      buildInteraction({ productId: 'a', type: 'purchase', purchaseDays: [today - 9, today - 4] }),
      buildInteraction({ productId: 'b', type: 'purchase', purchaseDays: [today - 4, today - 1, today] }),
      buildInteraction({ productId: 'c', type: 'purchase', purchaseDays: [today - 9] }),
    ];
    expect(rebuyVector([...rows].reverse(), tifu)).toEqual(rebuyVector(rows, tifu));
  });
});
