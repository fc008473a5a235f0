/** The subset of Web Crypto this client uses; present in browsers and in Node 20. */
export interface UuidSource {
  randomUUID?: () => string;
  getRandomValues(array: Uint8Array): Uint8Array;
}

/**
 * A version 4 UUID. `crypto.randomUUID` exists only in secure contexts (https, localhost), while
 * `getRandomValues` exists on plain http pages too: a shop's page on http still gets ids, and
 * with them retries that count once.
 */
export function randomUuid(source: UuidSource = globalThis.crypto): string {
  if (typeof source.randomUUID === 'function') return source.randomUUID();
  const bytes = source.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
