import { utcDay } from './rebuy-vector.js';
import type { Interaction } from './user-history.js';

/** A purchase the speed layer has seen and the batch has not read yet. */
export interface SeenPurchase {
  productId: string;
  /** Event time in epoch ms. */
  at: number;
  category: string | null;
}

/**
 * A user's history as the next run will read it once these purchases are archived: each adds one
 * to its (user, product, purchase) row's count, moves its latest time, and adds its UTC day to
 * the days the product was bought on (one day's purchases being one basket of the re-buy vector).
 * A product bought for the first time gets a row of its own. The rows given are not changed.
 *
 * Ranking this history against the published run (`BatchRun.rankHistory`) is what re-ranking
 * a user after a checkout means (ADR 017): their re-buy vector gains the new basket, and their
 * nearest customers are searched again with it.
 */
export function withPurchases(userId: string, rows: readonly Interaction[], purchases: Iterable<SeenPurchase>): Interaction[] {
  const bought = new Map<string, Interaction>();
  for (const row of rows) if (row.type === 'purchase') bought.set(row.productId, row);
  const folded = new Map<string, Interaction>();
  for (const purchase of purchases) {
    let row = folded.get(purchase.productId);
    if (row === undefined) {
      const existing = bought.get(purchase.productId);
      row =
        existing === undefined
          ? {
              userId,
              productId: purchase.productId,
              type: 'purchase',
              count: 0,
              lastAt: purchase.at,
              category: purchase.category,
              purchaseDays: [],
            }
          : {
              ...existing,
              // As the re-buy vector reads a row without days: bought once, on the day of its latest time.
              purchaseDays:
                existing.purchaseDays !== undefined && existing.purchaseDays.length > 0
                  ? [...existing.purchaseDays]
                  : [utcDay(existing.lastAt)],
            };
      folded.set(purchase.productId, row);
    }
    row.count++;
    row.lastAt = Math.max(row.lastAt, purchase.at);
    row.category ??= purchase.category;
    const day = utcDay(purchase.at);
    const days = row.purchaseDays as number[];
    if (!days.includes(day)) {
      days.push(day);
      days.sort((a, b) => a - b);
    }
  }
  const result = rows.map((row) => (row.type === 'purchase' ? (folded.get(row.productId) ?? row) : row));
  for (const [productId, row] of folded) if (!bought.has(productId)) result.push(row);
  return result;
}
