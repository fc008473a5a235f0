import { describe, expect, it } from 'vitest';
import { computeBatchModel } from './batch-model.js';
import { AS_OF, buildInteraction, policy, views } from '../test/batch-history.js';

describe('computeBatchModel popularity', () => {
  it('ranks popularity by weighted interest: one purchase outweighs a view', () => {
    const model = computeBatchModel(
      [
        buildInteraction({ userId: 'u1', productId: 'viewed', type: 'view' }),
        buildInteraction({ userId: 'u2', productId: 'bought', type: 'purchase' }),
      ],
      AS_OF,
      policy,
    );
    expect(model.popular).toEqual([
      { productId: 'bought', score: 8, category: null, reasons: ['popular'] },
      { productId: 'viewed', score: 1, category: null, reasons: ['popular'] },
    ]);
  });

  it('counts repeated events and sums interest over users', () => {
    const model = computeBatchModel(
      [
        buildInteraction({ userId: 'u1', productId: 'p1', type: 'view', count: 3 }),
        buildInteraction({ userId: 'u2', productId: 'p1', type: 'click', count: 1 }),
        buildInteraction({ userId: 'u3', productId: 'p2', type: 'click', count: 2 }),
      ],
      AS_OF,
      policy,
    );
    expect(model.popular.map((item) => [item.productId, item.score])).toEqual([
      ['p1', 5],
      ['p2', 4],
    ]);
  });

  it('decays popularity by event time relative to asOf: an event one half-life old weighs half', () => {
    const model = computeBatchModel(
      [
        buildInteraction({ userId: 'u1', productId: 'old', lastAt: AS_OF - policy.interestHalfLifeMs }),
        buildInteraction({ userId: 'u2', productId: 'fresh', lastAt: AS_OF }),
      ],
      AS_OF,
      policy,
    );
    expect(model.popular.map((item) => [item.productId, item.score])).toEqual([
      ['fresh', 1],
      ['old', 0.5],
    ]);
  });

  it('an old purchase can fall below a fresh view once enough half-lives have passed', () => {
    const rows = [
      buildInteraction({ userId: 'u1', productId: 'old-purchase', type: 'purchase', lastAt: AS_OF - 4 * policy.interestHalfLifeMs }),
      buildInteraction({ userId: 'u2', productId: 'fresh-click', type: 'click', lastAt: AS_OF }),
    ];
    expect(computeBatchModel(rows, AS_OF, policy).popular.map((item) => item.productId)).toEqual(['fresh-click', 'old-purchase']);
  });

  it('breaks popularity ties by productId', () => {
    const model = computeBatchModel(views({ u1: ['c', 'a'], u2: ['b'] }), AS_OF, policy);
    expect(model.popular.map((item) => item.productId)).toEqual(['a', 'b', 'c']);
  });

  it('keeps at most popularSize popular items', () => {
    const rows = views({ u1: ['a', 'b', 'c', 'd', 'e'] });
    expect(computeBatchModel(rows, AS_OF, { ...policy, popularSize: 2 }).popular).toHaveLength(2);
    expect(computeBatchModel(rows, AS_OF, policy).popular).toHaveLength(5);
  });
});

describe('computeBatchModel popularity per category', () => {
  it("lists each category's most popular products, best first, capped, products without a category left out", () => {
    const rows = [
      ...['u1', 'u2', 'u3'].map((userId) => buildInteraction({ userId, productId: 'boots', category: 'shoes' })),
      buildInteraction({ userId: 'u1', productId: 'sandals', category: 'shoes' }),
      ...['u1', 'u2'].map((userId) => buildInteraction({ userId, productId: 'sneakers', category: 'shoes' })),
      buildInteraction({ userId: 'u4', productId: 'scarf', category: 'wool' }),
      buildInteraction({ userId: 'u4', productId: 'mystery', category: null }),
    ];
    const { popularByCategory } = computeBatchModel(rows, AS_OF, { ...policy, popularPerCategory: 2 });
    expect([...popularByCategory.keys()].sort()).toEqual(['shoes', 'wool']);
    expect(popularByCategory.get('shoes')!.map((item) => item.productId)).toEqual(['boots', 'sneakers']);
    expect(popularByCategory.get('shoes')![0]).toMatchObject({ category: 'shoes', reasons: ['popular'] });
    expect(popularByCategory.get('wool')!.map((item) => item.productId)).toEqual(['scarf']);
  });
});
