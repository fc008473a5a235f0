import type { EventType } from '@lambdarec/contracts';

/**
 * How much one event says about a user's interest in a product. Batch (similarities, popularity)
 * and speed/serving (session boosts) read the same table so the layers cannot disagree.
 */
export const EVENT_WEIGHTS: Readonly<Record<EventType, number>> = {
  view: 1,
  click: 2,
  add_to_cart: 4,
  purchase: 8,
};

export const eventWeight = (type: EventType): number => EVENT_WEIGHTS[type];

/** Exponential decay by event-time age: 1 at age 0, 0.5 after one half-life. Future ages count as 0. */
export function decayFactor(ageMs: number, halfLifeMs: number): number {
  if (halfLifeMs <= 0) throw new RangeError('halfLifeMs must be positive');
  return Math.pow(0.5, Math.max(0, ageMs) / halfLifeMs);
}
