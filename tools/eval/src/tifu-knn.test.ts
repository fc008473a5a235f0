import { describe, expect, it } from 'vitest';
import { tifuKnnBaseline, tifuUserVector, type TifuKnnSettings } from './tifu-knn.js';
import type { Basket } from './split.js';

const T0 = Date.parse('2011-01-01T00:00:00Z');
let n = 0;
const basket = (customerId: string, items: string[]): Basket => ({ customerId, invoice: `i${++n}`, at: T0 + n * 1000, items });

const asObject = (v: { indices: Int32Array; values: Float64Array }) =>
  Object.fromEntries([...v.indices].map((index, j) => [index, v.values[j]!]));

describe('tifuUserVector', () => {
  it('decays within a group: the basket before weighs r_b times the next, over the group size', () => {
    const v = tifuUserVector([[0], [1], [2]], { groupSize: 3, withinGroupDecay: 0.5, acrossGroupDecay: 0.1 });
    expect(asObject(v)).toEqual({ 0: 0.25 / 3, 1: 0.5 / 3, 2: 1 / 3 });
  });

  it('decays across groups: the group before weighs r_g times the next, over the number of groups', () => {
    const v = tifuUserVector([[0], [1], [2], [3]], { groupSize: 2, withinGroupDecay: 1, acrossGroupDecay: 0.5 });
    expect(asObject(v)).toEqual({ 0: 0.125, 1: 0.125, 2: 0.25, 3: 0.25 });
  });

  it('gives the remainder to the oldest group, so the newest basket closes a full group', () => {
    const v = tifuUserVector([[0], [1], [2]], { groupSize: 2, withinGroupDecay: 0.5, acrossGroupDecay: 0.5 });
    // Groups [b1] and [b2, b3]: b1 = 0.5 / 2; b2 = (1/2) · 0.5 / 2; b3 = (1/2) · 1 / 2.
    expect(asObject(v)).toEqual({ 0: 0.25, 1: 0.125, 2: 0.25 });
  });

  it('adds up a product bought in several baskets, and its squared norm is kept', () => {
    const v = tifuUserVector([[0], [0, 1]], { groupSize: 2, withinGroupDecay: 0.5, acrossGroupDecay: 1 });
    expect(asObject(v)).toEqual({ 0: 0.75, 1: 0.5 });
    expect(v.norm2).toBeCloseTo(0.75 ** 2 + 0.5 ** 2, 12);
  });
});

describe('tifuKnnBaseline', () => {
  const settings: TifuKnnSettings = {
    groupSize: 1,
    withinGroupDecay: 1,
    acrossGroupDecay: 1,
    neighbours: 1,
    ownWeight: 0.5,
    distance: 'euclidean',
  };
  // u = {A: 1}; v = {A, B, C, D: 1} is nearer by cosine (0.5), w = {E: 1} by Euclidean distance (√2 < √3).
  const train = [basket('u', ['A']), basket('v', ['A', 'B', 'C', 'D']), basket('w', ['E']), basket('x', ['E', 'F'])];

  it("blends α · own vector with (1 − α) · the neighbours' mean", () => {
    // Euclidean: the nearest to u is w; A = 0.5 · 1, E = 0.5 · 1, tie by id, then popularity fills.
    expect(tifuKnnBaseline(train, settings).recommend('u', 3)).toEqual(['A', 'E', 'B']);
  });

  it('finds other neighbours by cosine', () => {
    expect(tifuKnnBaseline(train, { ...settings, distance: 'cosine' }).recommend('u', 4)).toEqual(['A', 'B', 'C', 'D']);
  });

  it("with α = 1 is the customer's own frequencies, then popularity", () => {
    expect(tifuKnnBaseline(train, { ...settings, ownWeight: 1 }).recommend('u', 2)).toEqual(['A', 'E']);
  });

  it('averages over k neighbours', () => {
    // k = 2 by cosine: v (0.5) and then the first of the zero-similarity customers by index (w).
    const list = tifuKnnBaseline(train, { ...settings, distance: 'cosine', neighbours: 2, ownWeight: 0.2 }).recommend('u', 6);
    // A = 0.2 + 0.8 · (1 + 0) / 2 = 0.6; B, C, D, E = 0.4 each.
    expect(list).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
  });

  it('folds the session in as the newest basket, which moves the neighbours too', () => {
    // One basket per group, r_g = 0.5, two groups: u = {A: 0.5/2, F: 1/2}; the nearest by cosine
    // is now x = {E, F}: F = 0.5 · 0.5 + 0.5 · 1, E = 0.5, A = 0.125.
    const folded = tifuKnnBaseline(train, { ...settings, acrossGroupDecay: 0.5, distance: 'cosine' }).recommend('u', 3, ['F']);
    expect(folded).toEqual(['F', 'E', 'A']);
  });
});
