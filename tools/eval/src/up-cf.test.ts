import { describe, expect, it } from 'vitest';
import type { Basket } from './split.js';
import { recencyPopularity, upcfBaseline } from './up-cf.js';

const T0 = Date.parse('2011-01-01T00:00:00Z');
let n = 0;
const basket = (customerId: string, items: string[]): Basket => ({ customerId, invoice: `i${++n}`, at: T0 + n * 1000, items });

const asObject = (v: { indices: Int32Array; values: Float64Array }) =>
  Object.fromEntries([...v.indices].map((index, j) => [index, v.values[j]!]));

describe('recencyPopularity', () => {
  const baskets = [[0], [0, 1], [2]];

  it('is the share of the last r baskets holding each product', () => {
    expect(asObject(recencyPopularity(baskets, 2))).toEqual({ 0: 0.5, 1: 0.5, 2: 0.5 });
    expect(asObject(recencyPopularity(baskets, 1))).toEqual({ 2: 1 });
  });

  it('with r beyond the history (or ∞) is the share of all baskets', () => {
    expect(asObject(recencyPopularity(baskets, Infinity))).toEqual({ 0: 2 / 3, 1: 1 / 3, 2: 1 / 3 });
    expect(asObject(recencyPopularity(baskets, 10))).toEqual(asObject(recencyPopularity(baskets, Infinity)));
  });
});

describe('upcfBaseline', () => {
  // u bought A, then B; v bought A with C; w shares nothing with u.
  const train = [basket('u', ['A']), basket('u', ['B']), basket('v', ['A', 'C']), basket('w', ['D']), basket('w', ['D'])];

  it("adds the neighbours' popularity weighted by S(u, v)^q to the customer's own", () => {
    // S(u, v) = 1 / (√2 · √2) = 0.5, q = 2 → 0.25: A = 1/2 + 0.25, B = 1/2, C = 0.25; D fills.
    expect(upcfBaseline(train, { recency: Infinity, asymmetry: 0.5, locality: 2 }).recommend('u', 4)).toEqual(['A', 'B', 'C', 'D']);
  });

  it('with r = 1 counts only the last basket of each customer', () => {
    // Own: B = 1; v's last basket gives A and C 0.25 each (tie by id).
    expect(upcfBaseline(train, { recency: 1, asymmetry: 0.5, locality: 2 }).recommend('u', 3)).toEqual(['B', 'A', 'C']);
  });

  it('the asymmetry normalises the overlap by the asker (α = 1) or by the neighbour (α = 0)', () => {
    // v = {A, C} shares 1 of 2; x = {A, B, E, F, G, H} shares 2 of 6. At α = 1, S(u, x) = 2/2 lifts
    // x's products (E) over v's (C); at α = 0, S(u, x) = 2/6 < S(u, v) = 1/2 and C comes first.
    const asymmetric = [basket('u', ['A']), basket('u', ['B']), basket('v', ['A', 'C']), basket('x', ['A', 'B', 'E', 'F', 'G', 'H'])];
    const top3 = (asymmetry: number) => upcfBaseline(asymmetric, { recency: Infinity, asymmetry, locality: 1 }).recommend('u', 3);
    expect(top3(1)).toEqual(['A', 'B', 'E']);
    expect(top3(0)).toEqual(['A', 'B', 'C']);
  });

  it('a large locality q leaves the customer almost alone with their own popularity', () => {
    // u: A in 2 of 3 baskets, B in 1; v = {A, C} with C in both baskets, S(u, v) = 0.5.
    // q = 1: C = 0.5 beats B = 1/3; q = 20: C = 0.5^20 falls under B.
    const history = [basket('u', ['A']), basket('u', ['B']), basket('u', ['A']), basket('v', ['A', 'C']), basket('v', ['C'])];
    const top3 = (locality: number) => upcfBaseline(history, { recency: Infinity, asymmetry: 0.5, locality }).recommend('u', 3);
    expect(top3(1)).toEqual(['A', 'C', 'B']);
    expect(top3(20)).toEqual(['A', 'B', 'C']);
  });

  it('folds the session in as the newest basket (its recency window and its overlaps)', () => {
    // With r = 1 and the session [C]: own C = 1; u's bought set now overlaps v on A and C.
    expect(upcfBaseline(train, { recency: 1, asymmetry: 0.5, locality: 1 }).recommend('u', 2, ['C'])).toEqual(['C', 'A']);
  });
});
