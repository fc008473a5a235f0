import { byName } from './order.js';

/** Entries by value, strongest first, ties in name order. */
export const strongestFirst = (items: ReadonlyMap<string, number>): Array<[string, number]> =>
  [...items.entries()].sort((a, b) => b[1] - a[1] || byName(a[0], b[0]));
