import { describe, expect, it } from 'vitest';
import { buildCases } from './protocols.js';
import type { Basket, SplitData } from './split.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2011-06-01T00:00:00Z');
const basket = (day: number, items: string[]): Basket => ({ customerId: 'c1', invoice: `i${day}`, at: T0 + day * DAY, items });
const data = (future: Basket[]): SplitData => ({
  split: { name: 'test', cutoff: T0, end: T0 + 90 * DAY },
  train: [],
  future: new Map([['c1', future]]),
});

describe('buildCases', () => {
  it('next-basket asks from the history alone for the first basket after the cutoff', () => {
    const [c] = buildCases(data([basket(1, ['A', 'B']), basket(5, ['C'])]), 'next-basket');
    expect(c).toMatchObject({ customerId: 'c1', session: [] });
    expect([...c!.target]).toEqual(['A', 'B']);
  });

  it('after-purchase-session streams the first basket as purchases and asks for the next, just after the session', () => {
    const [c] = buildCases(data([basket(1, ['A', 'B']), basket(5, ['C'])]), 'after-purchase-session');
    expect(c!.session.map((e) => [e.type, e.productId])).toEqual([
      ['purchase', 'A'],
      ['purchase', 'B'],
    ]);
    expect(c!.at).toBeGreaterThan(c!.session.at(-1)!.at);
    expect(c!.at - c!.session.at(-1)!.at).toBeLessThan(DAY);
    expect([...c!.target]).toEqual(['C']);
  });

  it('after-purchase-session needs a second basket', () => {
    expect(buildCases(data([basket(1, ['A'])]), 'after-purchase-session')).toEqual([]);
  });

  it('rest-of-basket carts the first half and targets the rest, never a carted product', () => {
    const [c] = buildCases(data([basket(1, ['A', 'B', 'C', 'D', 'E'])]), 'rest-of-basket');
    expect(c!.session.map((e) => [e.type, e.productId])).toEqual([
      ['add_to_cart', 'A'],
      ['add_to_cart', 'B'],
    ]);
    expect([...c!.target]).toEqual(['C', 'D', 'E']);
  });

  it('rest-of-basket skips a one-product basket', () => {
    expect(buildCases(data([basket(1, ['A'])]), 'rest-of-basket')).toEqual([]);
  });
});
