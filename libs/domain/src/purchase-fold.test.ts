import { describe, expect, it } from 'vitest';
import { withPurchases } from './purchase-fold.js';
import { utcDay } from './rebuy-vector.js';
import type { Interaction } from './user-history.js';

const DAY = 24 * 60 * 60 * 1000;
const at = (day: number, hours = 10) => day * DAY + hours * 60 * 60 * 1000;

const history: Interaction[] = [
  { userId: 'u1', productId: 'tea', type: 'purchase', count: 2, lastAt: at(100), category: 'drinks', purchaseDays: [90, 100] },
  { userId: 'u1', productId: 'tea', type: 'view', count: 5, lastAt: at(101), category: 'drinks' },
  { userId: 'u1', productId: 'mug', type: 'view', count: 1, lastAt: at(50), category: 'kitchen' },
];

describe('withPurchases', () => {
  it('adds a re-bought product to its row: one more, its latest time, and the day as a new basket', () => {
    const rows = withPurchases('u1', history, [{ productId: 'tea', at: at(120), category: 'drinks' }]);
    expect(rows.find((r) => r.productId === 'tea' && r.type === 'purchase')).toEqual({
      userId: 'u1',
      productId: 'tea',
      type: 'purchase',
      count: 3,
      lastAt: at(120),
      category: 'drinks',
      purchaseDays: [90, 100, 120],
    });
    // Views are not purchases: their rows stay as they were.
    expect(rows.filter((r) => r.type === 'view')).toEqual(history.filter((r) => r.type === 'view'));
    expect(rows).toHaveLength(3);
  });

  it('gives a first purchase a row of its own, even of a product the user only viewed', () => {
    const rows = withPurchases('u1', history, [{ productId: 'mug', at: at(120), category: 'kitchen' }]);
    expect(rows).toHaveLength(4);
    expect(rows.find((r) => r.productId === 'mug' && r.type === 'purchase')).toEqual({
      userId: 'u1',
      productId: 'mug',
      type: 'purchase',
      count: 1,
      lastAt: at(120),
      category: 'kitchen',
      purchaseDays: [120],
    });
  });

  it('counts each purchase event, and a day once however many lines it has', () => {
    const rows = withPurchases(
      'u1',
      [],
      [
        { productId: 'tea', at: at(120, 9), category: 'drinks' },
        { productId: 'tea', at: at(120, 11), category: 'drinks' },
        { productId: 'tea', at: at(121, 8), category: 'drinks' },
      ],
    );
    expect(rows).toEqual([
      { userId: 'u1', productId: 'tea', type: 'purchase', count: 3, lastAt: at(121, 8), category: 'drinks', purchaseDays: [120, 121] },
    ]);
  });

  it('keeps the days ascending when a late event is older than the newest basket', () => {
    const rows = withPurchases('u1', history, [{ productId: 'tea', at: at(95), category: 'drinks' }]);
    const tea = rows.find((r) => r.productId === 'tea' && r.type === 'purchase')!;
    expect(tea.purchaseDays).toEqual([90, 95, 100]);
    expect(tea.lastAt).toBe(at(100));
  });

  it('takes the day of the latest purchase for a row written without days (an older run)', () => {
    const old: Interaction[] = [{ userId: 'u1', productId: 'tea', type: 'purchase', count: 1, lastAt: at(100), category: null }];
    const rows = withPurchases('u1', old, [{ productId: 'tea', at: at(120), category: 'drinks' }]);
    expect(rows[0]).toMatchObject({ count: 2, purchaseDays: [100, 120], category: 'drinks' });
    expect(utcDay(rows[0]!.lastAt)).toBe(120);
  });

  it('reads a row with an empty list of days as the re-buy vector does: bought on the day of its latest time', () => {
    const empty: Interaction[] = [
      { userId: 'u1', productId: 'tea', type: 'purchase', count: 1, lastAt: at(100), category: null, purchaseDays: [] },
    ];
    expect(withPurchases('u1', empty, [{ productId: 'tea', at: at(120), category: null }])[0]!.purchaseDays).toEqual([100, 120]);
  });

  it('leaves the rows it was given as they were', () => {
    const before = structuredClone(history);
    withPurchases('u1', history, [
      { productId: 'tea', at: at(120), category: 'drinks' },
      { productId: 'mug', at: at(120), category: 'kitchen' },
    ]);
    expect(history).toEqual(before);
  });
});
