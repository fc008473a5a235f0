import { describe, expect, it } from 'vitest';
import { cookieValue, SHOPPER_COOKIE, shopperOf } from './shopper.js';

describe('the current shopper', () => {
  it('is the one a link names, before the cookie', () => {
    expect(shopperOf({ query: 'u-2', cookieHeader: `${SHOPPER_COOKIE}=u-3`, fallback: 'u-1' })).toBe('u-2');
  });

  it('is the one the switch stored in the cookie when the link names none', () => {
    expect(shopperOf({ cookieHeader: `theme=dark; ${SHOPPER_COOKIE}=demo-user-4; other=1`, fallback: 'u-1' })).toBe('demo-user-4');
  });

  it('falls back to the default when the link or cookie holds no valid userId', () => {
    expect(shopperOf({ query: '<script>', cookieHeader: `${SHOPPER_COOKIE}=${encodeURIComponent('a b')}`, fallback: 'u-1' })).toBe('u-1');
    expect(shopperOf({ cookieHeader: `${SHOPPER_COOKIE}=%E0%A4%A`, fallback: 'u-1' })).toBe('u-1');
    expect(shopperOf({ fallback: 'u-1' })).toBe('u-1');
  });

  it('reads a cookie by its exact name only', () => {
    expect(cookieValue(`x${SHOPPER_COOKIE}=nope; ${SHOPPER_COOKIE}=yes`, SHOPPER_COOKIE)).toBe('yes');
    expect(cookieValue(undefined, SHOPPER_COOKIE)).toBeUndefined();
  });
});
