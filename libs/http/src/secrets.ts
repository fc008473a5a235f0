import { createHash, timingSafeEqual } from 'node:crypto';

// Comparing digests takes the same time whatever the lengths, and the comparison never short-circuits.
const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Compares a presented secret with the expected one in constant time. */
export const secretsEqual = (given: string, expected: string): boolean => timingSafeEqual(digest(given), digest(expected));

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
