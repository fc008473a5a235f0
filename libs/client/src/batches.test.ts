import { describe, expect, it } from 'vitest';
import { jsonBytes, splitIntoBatches } from './batches.js';

describe('cutting events into requests', () => {
  it('keeps the order and at most maxEvents per request', () => {
    expect(splitIntoBatches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(splitIntoBatches([], 2)).toEqual([]);
  });

  it('keeps each request under the byte limit, counting UTF-8, and sends an oversized event on its own', () => {
    const event = { title: 'é'.repeat(100) };
    expect(jsonBytes(event)).toBe(212);
    const batches = splitIntoBatches([event, event, event, { title: 'x'.repeat(2_000) }], 500, 600);
    expect(batches.map((batch) => batch.length)).toEqual([2, 1, 1]);
  });
});
