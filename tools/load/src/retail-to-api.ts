/**
 * How `npm run load` turns clean UCI Online Retail lines into the public API's catalog products and
 * purchase events, and when it retries; no I/O, so the mapping is tested on its own.
 */
import { createHash } from 'node:crypto';
import type { PurchaseLine } from '@lambdarec/eval';

/** The namespace of this loader's name-based eventIds (a fixed random UUID; changing it changes every id). */
const EVENT_ID_NAMESPACE = '4c86c852-9b10-4ba9-b6d2-29ea63019cc4';

/** RFC 9562 version 5 (SHA-1, name-based) UUID: the same name always gives the same id. */
export function nameBasedUuid(namespace: string, name: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * One invoice line's eventId, from the invoice, the line's position in the file and the stock code:
 * a re-run sends the same ids, and ingest's consumers keep each event once. The file's exact
 * duplicate rows sit on different lines, so they stay separate events, as loadOnlineRetail counts them.
 */
export const eventIdFor = (line: Pick<PurchaseLine, 'invoice' | 'line' | 'productId'>): string =>
  nameBasedUuid(EVENT_ID_NAMESPACE, `${line.invoice}/${line.line}/${line.productId}`);

export interface PurchaseEvent {
  eventId: string;
  userId: string;
  type: 'purchase';
  productId: string;
  timestamp: string;
  value: number;
}

/** An invoice line as a purchase: the customer buys the stock item at the invoice time for quantity × price. */
export function purchaseEventOf(line: PurchaseLine): PurchaseEvent {
  return {
    eventId: eventIdFor(line),
    userId: line.customerId,
    type: 'purchase',
    productId: line.productId,
    timestamp: new Date(line.at).toISOString(),
    // In pence and back: 6 × 2.55 is 15.299999999999999 in floating point.
    value: Math.round(line.quantity * line.unitPrice * 100) / 100,
  };
}

export interface CatalogProduct {
  productId: string;
  title?: string;
  price: number;
}

/**
 * The catalog as the file last shows it: each stock code with its latest non-empty description
 * and latest unit price (codes change description and price over the year). No category: the
 * dataset has none, and a made-up one would steer serving's category rules.
 */
export function catalogOf(lines: readonly PurchaseLine[]): CatalogProduct[] {
  const latest = new Map<string, { at: number; line: number; title: string | undefined; price: number }>();
  for (const l of lines) {
    const seen = latest.get(l.productId);
    const newer = seen === undefined || l.at > seen.at || (l.at === seen.at && l.line > seen.line);
    if (!newer) {
      if (seen.title === undefined && l.description !== '') seen.title = l.description;
      continue;
    }
    latest.set(l.productId, { at: l.at, line: l.line, title: l.description !== '' ? l.description : seen?.title, price: l.unitPrice });
  }
  return [...latest.entries()].map(([productId, { title, price }]) =>
    title === undefined ? { productId, price } : { productId, title, price },
  );
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** What to do with an answer: done, wait and send the same body again, or stop with the answer. */
export type RetryDecision = { action: 'done' } | { action: 'retry'; delayMs: number; rateLimited: boolean } | { action: 'stop' };

/** 5xx and lost answers are retried this many times (about two minutes of backoff) before giving up. */
export const MAX_ATTEMPTS = 10;

/**
 * 429: wait as long as Retry-After says (the budget comes back each minute; not counted as a
 * failed attempt). 503 and other 5xx, or no answer at all (status undefined): back off
 * exponentially, honouring a Retry-After. Anything else (400, 401, 413…) will not get better by
 * sending it again. Sending the same body again is safe: its eventIds are fixed. `failures`
 * counts the 5xx and lost answers of this request so far, this one included.
 */
export function decideRetry(status: number | undefined, failures: number, retryAfter: string | null | undefined): RetryDecision {
  if (status !== undefined && status >= 200 && status < 300) return { action: 'done' };
  const givenMs =
    retryAfter !== null && retryAfter !== undefined && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) * 1000 : undefined;
  if (status === 429) return { action: 'retry', delayMs: givenMs ?? 5_000, rateLimited: true };
  if (status !== undefined && status < 500) return { action: 'stop' };
  if (failures >= MAX_ATTEMPTS) return { action: 'stop' };
  const backoffMs = Math.min(30_000, 500 * 2 ** (failures - 1));
  return { action: 'retry', delayMs: Math.max(givenMs ?? 0, backoffMs), rateLimited: false };
}

/**
 * How many chunks from the start are all done: with requests in flight side by side, the chunks
 * after the first unfinished one may be done too, but only this prefix can safely be skipped.
 */
export function donePrefix(done: ReadonlySet<number>, from = 0): number {
  let n = from;
  while (done.has(n)) n++;
  return n;
}
