import { describe, expect, it } from 'vitest';
import { personalPopularityBaseline } from './p-pop.js';
import type { Basket } from './split.js';

const T0 = Date.parse('2011-01-01T00:00:00Z');
let n = 0;
const basket = (customerId: string, items: string[]): Basket => ({ customerId, invoice: `i${++n}`, at: T0 + n * 1000, items });

// u buys A and B twice each (B less recently), C and D once (D more recently); E and F sell most elsewhere.
const train = [
  basket('u', ['A', 'B']),
  basket('u', ['C']),
  basket('u', ['B', 'D']),
  basket('u', ['A']),
  basket('v', ['E']),
  basket('v', ['E', 'F']),
  basket('w', ['E', 'G']),
];

describe('personalPopularityBaseline (P-Pop)', () => {
  it("ranks the customer's products by the baskets holding them, ties by the most recent basket", () => {
    expect(personalPopularityBaseline(train).recommend('u', 4)).toEqual(['A', 'B', 'D', 'C']);
  });

  it('fills the list with global popularity, skipping what is already listed', () => {
    // Global: E 3 baskets, A 2, B 2, then the rest with one basket each by id (C, D, F, G).
    expect(personalPopularityBaseline(train).recommend('u', 7)).toEqual(['A', 'B', 'D', 'C', 'E', 'F', 'G']);
  });

  it('counts a folded-in session as the newest basket', () => {
    // C now has two baskets, the newest: it leads the tie with A and B.
    expect(personalPopularityBaseline(train).recommend('u', 3, ['C'])).toEqual(['C', 'A', 'B']);
  });

  it('answers a customer without history with global popularity', () => {
    expect(personalPopularityBaseline(train).recommend('stranger', 3)).toEqual(['E', 'A', 'B']);
  });
});
