import { ID_PATTERN } from '@lambdarec/contracts';

/** The cookie in which the page keeps the chosen demo shopper (set by the page script). */
export const SHOPPER_COOKIE = 'lrec_shopper';

/** One cookie's value from a Cookie header; undefined when absent or not decodable. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at < 0 || pair.slice(0, at).trim() !== name) continue;
    try {
      return decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Who is shopping: the shopper a link names, else the one the switch stored in the cookie, else
 * the first configured one. Anything that is not a valid userId is ignored, not an error: a stale
 * or hand-edited cookie must not break the shop.
 */
export function shopperOf({
  query,
  cookieHeader,
  fallback,
}: {
  query?: string | undefined;
  cookieHeader?: string | undefined;
  fallback: string;
}): string {
  for (const candidate of [query, cookieValue(cookieHeader, SHOPPER_COOKIE)]) {
    if (candidate !== undefined && ID_PATTERN.test(candidate)) return candidate;
  }
  return fallback;
}
