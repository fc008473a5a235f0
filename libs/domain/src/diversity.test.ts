import { describe, expect, it } from 'vitest';
import { diversify, type Diversifiable } from './diversity.js';

const item = (productId: string, category: string | null, score: number): Diversifiable => ({ productId, category, score });
const ids = (items: readonly Diversifiable[]) => items.map((i) => i.productId);

/** Three mugs ahead of two bags and a card, strongest first. */
const mugsFirst = [
  item('mug1', 'MUG', 1),
  item('mug2', 'MUG', 0.9),
  item('mug3', 'MUG', 0.8),
  item('bag1', 'BAG', 0.5),
  item('bag2', 'BAG', 0.4),
  item('card1', 'CARD', 0.1),
];

describe('diversify', () => {
  it('keeps the input order at diversity 0, cut to the limit', () => {
    expect(ids(diversify(mugsFirst, 0, 10))).toEqual(['mug1', 'mug2', 'mug3', 'bag1', 'bag2', 'card1']);
    expect(ids(diversify(mugsFirst, 0, 2))).toEqual(['mug1', 'mug2']);
  });

  it('keeps the input order at diversity 0 even where it is not by score', () => {
    const unsorted = [item('a', 'X', 0.2), item('b', 'X', 0.9)];
    expect(ids(diversify(unsorted, 0, 2))).toEqual(['a', 'b']);
  });

  it('takes the least-shown category next at diversity 1, alternating while there are others', () => {
    // Picks: mug1; bag1 and card1 (unshown); then the mug and the bag tie at 1/3 and the earlier wins.
    expect(ids(diversify(mugsFirst, 1, 10))).toEqual(['mug1', 'bag1', 'card1', 'mug2', 'bag2', 'mug3']);
    // Once the bags are gone, only mugs are left to show.
    expect(ids(diversify([item('m1', 'MUG', 1), item('m2', 'MUG', 1), item('m3', 'MUG', 1), item('b1', 'BAG', 1)], 1, 4))).toEqual([
      'm1',
      'b1',
      'm2',
      'm3',
    ]);
  });

  it('at 0.3 lifts another category over a near tie of the same one, but not over a much stronger one', () => {
    const list = [item('a1', 'A', 1), item('a2', 'A', 0.95), item('b1', 'B', 0.9), item('a3', 'A', 0.8), item('c1', 'C', 0.2)];
    // After a1: a2 0.7 · 0.95 − 0.3 · 1 = 0.365 < b1 0.7 · 0.9 = 0.63.
    // After a1, b1, a2: a3 0.7 · 0.8 − 0.3 · 2/3 = 0.36 > c1 0.7 · 0.2 = 0.14.
    expect(ids(diversify(list, 0.3, 5))).toEqual(['a1', 'b1', 'a2', 'a3', 'c1']);
  });

  it('never counts a product without a category as redundant, not even with another one', () => {
    const list = [item('a1', 'A', 1), item('a2', 'A', 0.9), item('n1', null, 0.5), item('n2', null, 0.45)];
    // After a1, n1: a2 0.5 · 0.9 − 0.5 · 1/2 = 0.2 < n2 0.5 · 0.45 = 0.225 (n1 does not count against n2).
    expect(ids(diversify(list, 0.5, 4))).toEqual(['a1', 'n1', 'n2', 'a2']);
  });

  it('returns at most the limit, and all when the limit is longer than the input', () => {
    expect(ids(diversify(mugsFirst, 1, 3))).toEqual(['mug1', 'bag1', 'card1']);
    expect(diversify(mugsFirst, 0.5, 100)).toHaveLength(mugsFirst.length);
    expect(diversify(mugsFirst, 0.5, 0)).toEqual([]);
  });

  it('breaks ties by input order, the same every time', () => {
    const even = [item('x', 'A', 1), item('y', 'B', 1), item('z', 'A', 1), item('w', 'B', 1)];
    expect(ids(diversify(even, 0.5, 4))).toEqual(['x', 'y', 'z', 'w']);
    expect(ids(diversify(even, 0.5, 4))).toEqual(ids(diversify(even, 0.5, 4)));
    const sameCategory = [item('p', 'A', 0.5), item('q', 'A', 0.5), item('r', 'A', 0.5)];
    expect(ids(diversify(sameCategory, 0.7, 3))).toEqual(['p', 'q', 'r']);
  });

  it('does not depend on the scores’ scale', () => {
    const scaled = mugsFirst.map((i) => ({ ...i, score: i.score * 1000 }));
    expect(ids(diversify(scaled, 0.3, 6))).toEqual(ids(diversify(mugsFirst, 0.3, 6)));
  });

  it('answers an empty list with an empty list', () => {
    expect(diversify([], 0.5, 10)).toEqual([]);
    expect(diversify([], 0, 10)).toEqual([]);
  });

  it('leaves the input as it was and returns its items themselves', () => {
    const input = mugsFirst.map((i) => ({ ...i }));
    const before = structuredClone(input);
    const out = diversify(input, 0.7, 4);
    expect(input).toEqual(before);
    expect(out[0]).toBe(input[0]);
  });

  it('refuses a diversity outside [0, 1]', () => {
    expect(() => diversify(mugsFirst, 1.5, 3)).toThrow(RangeError);
    expect(() => diversify(mugsFirst, -0.1, 3)).toThrow(RangeError);
    expect(() => diversify(mugsFirst, Number.NaN, 3)).toThrow(RangeError);
  });
});
