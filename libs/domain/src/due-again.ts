/**
 * "Due again": how long customers usually wait before buying a product again, learned from the
 * days on which they bought it, so that a product bought before can be told apart as due (the
 * usual wait has passed: reason `batch:due-again`) or not yet (bought too recently to be needed).
 */

/** How the usual wait is learned and used. */
export interface DueAgainPolicy {
  /**
   * Repeat purchases (gaps between two purchase days of one customer) a product needs before its
   * own usual wait is trusted; below it, its category's, if the category has as many. @defaultValue 5
   */
  dueMinRepeats: number;
  /**
   * A product bought before and not yet due keeps this share of its personal score. 1 keeps it as
   * it was: on the eval's validation window, holding back hurt (customers of this shop re-buy what
   * they bought lately). @defaultValue 1
   */
  notDueWeight: number;
}

/** Gaps in days between consecutive purchase days, counted: the histogram a median is read from. */
export type GapCounts = Map<number, number>;

/** Adds one customer's purchase days of a product (ascending, distinct) to its gap counts. */
export function addGaps(counts: GapCounts, purchaseDays: readonly number[]): void {
  for (let i = 1; i < purchaseDays.length; i++) {
    const gap = purchaseDays[i]! - purchaseDays[i - 1]!;
    if (gap > 0) counts.set(gap, (counts.get(gap) ?? 0) + 1);
  }
}

/** How many gaps a histogram holds. */
export const gapCount = (counts: GapCounts): number => {
  let total = 0;
  for (const count of counts.values()) total += count;
  return total;
};

/** The median gap (the lower middle one of an even count), or undefined without gaps. */
export function medianGap(counts: GapCounts): number | undefined {
  const total = gapCount(counts);
  if (total === 0) return undefined;
  const middle = Math.ceil(total / 2);
  let seen = 0;
  for (const gap of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(gap)!;
    if (seen >= middle) return gap;
  }
  return undefined;
}

/**
 * Whether a product bought `daysSince` days ago is due again, given its usual wait: due once the
 * wait has passed; undefined when nothing was learned about it.
 */
export const isDue = (daysSince: number, usualWaitDays: number | null | undefined): boolean | undefined =>
  usualWaitDays === null || usualWaitDays === undefined ? undefined : daysSince >= usualWaitDays;
