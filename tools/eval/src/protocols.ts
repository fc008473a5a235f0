/**
 * The three ways the eval asks for recommendations, each a list of cases: what the system knows
 * (the batch history, and for two of them a live session) and what the customer bought.
 */
import type { EventType } from '@lambdarec/contracts';
import type { Basket, SplitData } from './split.js';

export type ProtocolName = 'next-basket' | 'after-purchase-session' | 'rest-of-basket';

export const PROTOCOLS: readonly ProtocolName[] = ['next-basket', 'after-purchase-session', 'rest-of-basket'];

/** One event the speed layer sees during the case's session. */
export interface SessionEvent {
  type: EventType;
  productId: string;
  at: number;
}

export interface EvalCase {
  customerId: string;
  /** Streamed to the speed layer before the request (empty: batch view only). */
  session: SessionEvent[];
  /** When the storefront asks: just after the session. */
  at: number;
  target: Set<string>;
}

/** The session's events are this far apart, and the request comes this long after the last one. */
const EVENT_GAP_MS = 5_000;
const ASK_AFTER_MS = 60_000;

/**
 * - next-basket: the first invoice after the cutoff, from the history alone.
 * - after-purchase-session: that first invoice is streamed as purchases; the target is the next one.
 * - rest-of-basket: the first half of that invoice (at least one product, in the order it was
 *   entered) is streamed as add_to_cart; the target is the rest of it.
 */
export function buildCases(data: SplitData, protocol: ProtocolName): EvalCase[] {
  const cases: EvalCase[] = [];
  for (const [customerId, baskets] of [...data.future.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const first = baskets[0];
    if (first === undefined) continue;
    if (protocol === 'next-basket') {
      cases.push({ customerId, session: [], at: first.at, target: new Set(first.items) });
    } else if (protocol === 'after-purchase-session') {
      const next = baskets[1];
      if (next === undefined) continue;
      const session = streamed(first, first.items, 'purchase');
      cases.push({ customerId, session, at: session.at(-1)!.at + ASK_AFTER_MS, target: new Set(next.items) });
    } else {
      if (first.items.length < 2) continue;
      const half = Math.floor(first.items.length / 2);
      const carted = first.items.slice(0, half);
      const rest = first.items.slice(half);
      const session = streamed(first, carted, 'add_to_cart');
      cases.push({ customerId, session, at: session.at(-1)!.at + ASK_AFTER_MS, target: new Set(rest) });
    }
  }
  return cases;
}

function streamed(basket: Basket, items: readonly string[], type: EventType): SessionEvent[] {
  return items.map((productId, i) => ({ type, productId, at: basket.at + i * EVENT_GAP_MS }));
}
