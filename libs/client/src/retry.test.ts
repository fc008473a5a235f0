import { describe, expect, it } from 'vitest';
import { retryAfterMs, retryDelayMs } from './retry.js';

const policy = { baseDelayMs: 500, maxDelayMs: 30_000 };

describe('retry timing', () => {
  it('reads Retry-After as seconds or as an HTTP date, and ignores what it cannot read', () => {
    expect(retryAfterMs('17')).toBe(17_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', Date.parse('2026-01-01T00:00:00Z'))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('doubles the backoff, keeps at least half of it, jitters the rest and caps it', () => {
    const at = (retry: number, random: number) =>
      retryDelayMs({ retry, rateLimited: false, serverDelayMs: undefined }, policy, () => random);
    expect([at(1, 0), at(1, 1)]).toEqual([250, 500]);
    expect([at(3, 0), at(3, 1)]).toEqual([1_000, 2_000]);
    expect(at(20, 1)).toBe(30_000);
  });

  it('takes a Retry-After as a floor, and a 429 waits just that with a little spread', () => {
    expect(retryDelayMs({ retry: 1, rateLimited: false, serverDelayMs: 5_000 }, policy, () => 1)).toBe(5_000);
    expect(retryDelayMs({ retry: 9, rateLimited: true, serverDelayMs: 2_000 }, policy, () => 0.5)).toBe(2_250);
  });
});
