import { describe, expect, it } from 'vitest';
import { decayFactor, EVENT_WEIGHTS, eventWeight } from './weights.js';

describe('decayFactor', () => {
  it('halves the weight after one half-life', () => {
    expect(decayFactor(1000, 1000)).toBeCloseTo(0.5);
  });
  it('quarters the weight after two half-lives', () => {
    expect(decayFactor(2000, 1000)).toBeCloseTo(0.25, 12);
  });
  it('leaves an event of age 0 at full weight', () => {
    expect(decayFactor(0, 1000)).toBe(1);
  });
  it('treats events from the future as fresh', () => {
    expect(decayFactor(-5000, 1000)).toBe(1);
  });
  it('rejects a half-life that is not positive', () => {
    expect(() => decayFactor(1000, 0)).toThrow(RangeError);
    expect(() => decayFactor(1000, -1)).toThrow(RangeError);
  });
});

describe('eventWeight', () => {
  it('ranks a purchase above a view', () => {
    expect(eventWeight('purchase')).toBeGreaterThan(eventWeight('view'));
  });
  it('orders interest view < click < add_to_cart < purchase', () => {
    const ordered = (['view', 'click', 'add_to_cart', 'purchase'] as const).map(eventWeight);
    expect(ordered).toEqual([...ordered].sort((a, b) => a - b));
    expect(new Set(ordered).size).toBe(4);
  });
  it('reads the shared weight table', () => {
    expect(eventWeight('add_to_cart')).toBe(EVENT_WEIGHTS.add_to_cart);
  });
});
