import { describe, expect, it } from 'vitest';
import { computeBatchModel } from './batch-model.js';
import { AS_OF, buildInteraction, policy } from '../test/batch-history.js';

describe('computeBatchModel product categories', () => {
  it("takes a product's category from the most frequent category of its events", () => {
    const model = computeBatchModel(
      [
        // By events: shoes 3, bags 2 (though bags has more rows and more weight); nulls do not vote.
        buildInteraction({ userId: 'u1', productId: 'p1', category: 'bags', type: 'purchase', count: 1 }),
        buildInteraction({ userId: 'u2', productId: 'p1', category: 'bags', type: 'view', count: 1 }),
        buildInteraction({ userId: 'u3', productId: 'p1', category: 'shoes', type: 'view', count: 3 }),
        buildInteraction({ userId: 'u4', productId: 'p1', category: null, type: 'view', count: 10 }),
      ],
      AS_OF,
      policy,
    );
    expect(model.popular[0]?.category).toBe('shoes');
  });

  it('when categories tie, picks the same one whatever the input order', () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'p1', category: 'shoes' }),
      buildInteraction({ userId: 'u2', productId: 'p1', category: 'bags' }),
    ];
    expect(computeBatchModel(rows, AS_OF, policy).popular[0]?.category).toBe('bags');
    expect(computeBatchModel([...rows].reverse(), AS_OF, policy).popular[0]?.category).toBe('bags');
  });

  it("when none of a product's events carries a category, its category is null", () => {
    const model = computeBatchModel([buildInteraction({ category: null })], AS_OF, policy);
    expect(model.popular[0]?.category).toBeNull();
  });
});
