import { describe, expect, it } from 'vitest';
import { decayFactor, eventWeight } from './weights.js';

describe('decayFactor', () => {
  it('halves the weight after one half-life', () => {
    expect(decayFactor(1000, 1000)).toBeCloseTo(0.5);
  });
  it('treats events from the future as fresh', () => {
    expect(decayFactor(-5000, 1000)).toBe(1);
  });
});

describe('eventWeight', () => {
  it('ranks a purchase above a view', () => {
    expect(eventWeight('purchase')).toBeGreaterThan(eventWeight('view'));
  });
});
