import type { Interaction } from '@lambdarec/domain';
import { describe, expect, it } from 'vitest';
import { decodeHistory, historyText } from '../src/run-history.js';

const row = (productId: string, type: Interaction['type'], extra: Partial<Interaction> = {}): Interaction => ({
  userId: 'u1',
  productId,
  type,
  count: 2,
  lastAt: 1_700_000_000_123,
  category: 'tea',
  ...extra,
});

describe('a kept history as text', () => {
  it('reads back what was written: counts, times to the millisecond, a missing category, purchase days or none', () => {
    const rows = [
      row('p-1', 'purchase', { purchaseDays: [19_000, 19_007] }),
      row('p-1', 'view', { category: null }),
      row('p.2:x@y_z', 'add_to_cart', { count: 1, lastAt: 0 }),
    ];
    expect(decodeHistory('u1', historyText(rows))).toEqual(rows);
  });

  it('orders the rows as the run streams them (product, then type) and the days ascending, whatever order they were stored in', () => {
    const stored = historyText([
      row('b', 'view'),
      row('a', 'view'),
      row('a', 'purchase', { purchaseDays: [19_007, 19_000] }),
      row('a', 'click'),
    ]);
    const decoded = decodeHistory('u1', stored);
    expect(decoded.map((r) => `${r.productId}/${r.type}`)).toEqual(['a/click', 'a/purchase', 'a/view', 'b/view']);
    expect(decoded[1]!.purchaseDays).toEqual([19_000, 19_007]);
  });

  it('reads an empty history as no rows', () => {
    expect(decodeHistory('u1', historyText([]))).toEqual([]);
  });
});
