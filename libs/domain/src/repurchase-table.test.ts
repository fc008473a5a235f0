import { describe, expect, it } from 'vitest';
import { computeBatchModel } from './batch-model.js';
import { AS_OF, buildInteraction, DAY, policy } from '../test/batch-history.js';

describe('computeBatchModel repurchase figures', () => {
  it('counts per product the customers who bought it and those who bought it at least twice', () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'tea', type: 'purchase', count: 1 }),
      buildInteraction({ userId: 'u2', productId: 'tea', type: 'purchase', count: 3 }),
      buildInteraction({ userId: 'u3', productId: 'tea', type: 'purchase', count: 2 }),
      // Views and carts are not purchases, however many.
      buildInteraction({ userId: 'u4', productId: 'tea', type: 'view', count: 5 }),
      buildInteraction({ userId: 'u5', productId: 'tea', type: 'add_to_cart', count: 2 }),
      buildInteraction({ userId: 'u4', productId: 'browsed', type: 'view', count: 5 }),
    ];
    const { repurchase } = computeBatchModel(rows, AS_OF, policy);
    expect(repurchase.products).toEqual(new Map([['tea', { buyers: 3, rebuyers: 2 }]]));
  });

  it('counts a re-buy however long ago it was', () => {
    const rows = [buildInteraction({ userId: 'u1', productId: 'tea', type: 'purchase', count: 2, lastAt: AS_OF - 10 * 365 * DAY })];
    expect(computeBatchModel(rows, AS_OF, policy).repurchase.products.get('tea')).toEqual({ buyers: 1, rebuyers: 1 });
  });

  it("sums a category's products' figures, each product in its most frequent category", () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'green', type: 'purchase', count: 2, category: 'tea' }),
      buildInteraction({ userId: 'u2', productId: 'green', type: 'purchase', count: 1, category: 'tea' }),
      buildInteraction({ userId: 'u1', productId: 'black', type: 'purchase', count: 4, category: 'tea' }),
      // The cup's one tea event is outvoted by two kitchen events: its figures go to kitchen.
      buildInteraction({ userId: 'u3', productId: 'cup', type: 'purchase', count: 1, category: 'tea' }),
      buildInteraction({ userId: 'u4', productId: 'cup', type: 'view', count: 2, category: 'kitchen' }),
      // No category: in the product figures only.
      buildInteraction({ userId: 'u5', productId: 'mystery', type: 'purchase', count: 3, category: null }),
    ];
    const { repurchase } = computeBatchModel(rows, AS_OF, policy);
    expect(repurchase.categories).toEqual(
      new Map([
        ['tea', { buyers: 3, rebuyers: 2 }],
        ['kitchen', { buyers: 1, rebuyers: 0 }],
      ]),
    );
    expect(repurchase.products.get('mystery')).toEqual({ buyers: 1, rebuyers: 1 });
  });
});
