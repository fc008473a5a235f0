import type { EventType } from '@lambdarec/contracts';

/** Aggregated history of one user with one product, as the batch layer reads it. */
export interface Interaction {
  userId: string;
  productId: string;
  type: EventType;
  count: number;
  /** Latest event time of this (user, product, type) in epoch ms. */
  lastAt: number;
  category: string | null;
  /**
   * Purchases only: the UTC days (days since 1970-01-01, ascending, distinct) on which the user
   * bought the product. A day's purchases are one basket for the re-buy vector; without them (an
   * older caller) the product counts as bought once, on the day of `lastAt`.
   */
  purchaseDays?: readonly number[] | undefined;
}

/** One user's interactions, every type and product: the unit a batch shard streams. */
export interface UserHistory {
  userId: string;
  rows: Interaction[];
}

/** Groups rows by user, users in name order (the order in which the batch service streams them). */
export function groupByUser(interactions: Iterable<Interaction>): UserHistory[] {
  const byUser = new Map<string, Interaction[]>();
  for (const row of interactions) {
    let rows = byUser.get(row.userId);
    if (rows === undefined) byUser.set(row.userId, (rows = []));
    rows.push(row);
  }
  return [...byUser.keys()].sort().map((userId) => ({ userId, rows: byUser.get(userId)! }));
}
