import { describe, expect, it } from 'vitest';
import { itemKnnBaseline, popularityBaseline, repeatThenKnnBaseline } from './baselines.js';
import type { Basket } from './split.js';

const T0 = Date.parse('2011-01-01T00:00:00Z');
let n = 0;
const basket = (customerId: string, items: string[], at = T0 + ++n * 1000): Basket => ({ customerId, invoice: `i${n}`, at, items });

describe('popularityBaseline', () => {
  it('ranks products by the invoices that hold them, ties by id, the same for everyone', () => {
    const pop = popularityBaseline([basket('a', ['X', 'Y']), basket('b', ['Y', 'Z']), basket('c', ['Y', 'X'])]);
    expect(pop.recommend('anyone', 3)).toEqual(['Y', 'X', 'Z']);
  });
});

describe('itemKnnBaseline', () => {
  const train = [basket('a', ['A', 'B']), basket('b', ['A', 'B']), basket('c', ['A', 'C']), basket('d', ['C', 'D']), basket('u', ['A'])];

  it("scores by cosine over buyers: B (2 of 3 of A's other buyers) before C", () => {
    expect(itemKnnBaseline(train).recommend('u', 2)).toEqual(['B', 'C']);
  });

  it('knows nothing about a customer without history', () => {
    expect(itemKnnBaseline(train).recommend('stranger', 5)).toEqual([]);
  });
});

describe('repeatThenKnnBaseline', () => {
  it("puts the customer's own products first, most often bought first, then fills with kNN", () => {
    const train = [basket('u', ['A', 'B']), basket('u', ['B']), basket('v', ['B', 'C'])];
    expect(repeatThenKnnBaseline(train).recommend('u', 3)).toEqual(['B', 'A', 'C']);
  });

  it('breaks a tie in counts by the most recent purchase', () => {
    const train = [basket('u', ['A'], T0), basket('u', ['B'], T0 + 10)];
    expect(repeatThenKnnBaseline(train).recommend('u', 2)).toEqual(['B', 'A']);
  });
});
