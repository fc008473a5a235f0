import { describe, expect, it } from 'vitest';
import type { PurchaseLine } from './dataset.js';
import { defaultSplits, sample, seededRandom, splitByTime, toBaskets, type Basket } from './split.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2011-01-01T00:00:00Z');
let lineNo = 0;
const buildLine = (overrides: Partial<PurchaseLine> = {}): PurchaseLine => ({
  invoice: '1',
  productId: 'P1',
  description: 'MUG',
  quantity: 1,
  at: T0,
  unitPrice: 1,
  customerId: 'c1',
  line: ++lineNo,
  ...overrides,
});
const basket = (customerId: string, day: number, items: string[], invoice = `${customerId}-${day}`): Basket => ({
  customerId,
  invoice,
  at: T0 + day * DAY,
  items,
});

describe('toBaskets', () => {
  it('groups lines by invoice, keeps the entry order and lists a product once', () => {
    const baskets = toBaskets([
      buildLine({ invoice: '2', productId: 'B', at: T0 + DAY }),
      buildLine({ invoice: '1', productId: 'A' }),
      buildLine({ invoice: '2', productId: 'C', at: T0 + DAY }),
      buildLine({ invoice: '2', productId: 'B', at: T0 + DAY }),
    ]);
    expect(baskets.map((b) => [b.invoice, b.items])).toEqual([
      ['1', ['A']],
      ['2', ['B', 'C']],
    ]);
  });
});

describe('splitByTime', () => {
  const baskets = [
    basket('old', 1, ['A']),
    basket('old', 20, ['B']),
    basket('old', 25, ['C']),
    basket('new', 21, ['D']),
    basket('old', 40, ['E']),
  ];

  it('trains on what came before the cutoff and evaluates known customers inside the window only', () => {
    const data = splitByTime(baskets, { name: 'test', cutoff: T0 + 10 * DAY, end: T0 + 30 * DAY });
    expect(data.train.map((b) => b.items[0])).toEqual(['A']);
    expect([...data.future.keys()]).toEqual(['old']);
    expect(data.future.get('old')!.map((b) => b.items[0])).toEqual(['B', 'C']);
  });
});

describe('defaultSplits', () => {
  it('puts the test window at the end and the validation window just before it, in whole days', () => {
    const { validation, test } = defaultSplits([basket('c', 0, ['A']), basket('c', 200.5, ['B'])], 90, 60);
    expect(test.end).toBe(T0 + 201 * DAY);
    expect(test.cutoff).toBe(T0 + 111 * DAY);
    expect(validation).toEqual({ name: 'validation', cutoff: T0 + 51 * DAY, end: T0 + 111 * DAY });
  });
});

describe('seeded sampling', () => {
  it('gives the same sample for the same seed and another for another seed, in the original order', () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const a = sample(items, 10, seededRandom(42));
    expect(sample(items, 10, seededRandom(42))).toEqual(a);
    expect(sample(items, 10, seededRandom(7))).not.toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(sample(items, 200, seededRandom(1))).toEqual(items);
  });
});
