/** How many customers bought a product (or a category's products) and how many bought it again. */
export interface RepurchaseStats {
  buyers: number;
  rebuyers: number;
}

/** When a just-purchased product leaves the user's list, and when it stays. */
export interface RepurchasePolicy {
  /**
   * A purchased product stays in the list when at least this share of its buyers bought it again
   * (tea, paper, wholesale stock); below it, it is suppressed for the suppression window.
   * @defaultValue 0.1
   */
  rebuyThreshold: number;
  /** Buyers a product (else its category) needs before its re-buy share is trusted. @defaultValue 5 */
  rebuyMinBuyers: number;
}

export const DEFAULT_REPURCHASE_POLICY: Readonly<RepurchasePolicy> = { rebuyThreshold: 0.1, rebuyMinBuyers: 5 };

/** What the batch learned about re-buying one product: its own figures and its category's. */
export interface RepurchaseEvidence {
  product?: RepurchaseStats | undefined;
  category?: RepurchaseStats | undefined;
}

export type RepurchaseBasis = 'product' | 'category';

export type RepurchaseDecision =
  { keep: true; basis: RepurchaseBasis; rate: number } | { keep: false; basis: RepurchaseBasis | 'no-history'; rate: number };

/**
 * The product's own re-buy share decides when enough customers bought it; else its category's;
 * with neither, nothing says customers come back for it (a fridge, a sofa), so it is suppressed.
 */
export function decideRepurchase(evidence: RepurchaseEvidence, policy: RepurchasePolicy): RepurchaseDecision {
  for (const basis of ['product', 'category'] as const) {
    const stats = evidence[basis];
    if (stats === undefined || stats.buyers < policy.rebuyMinBuyers) continue;
    const rate = stats.rebuyers / stats.buyers;
    return rate >= policy.rebuyThreshold ? { keep: true, basis, rate } : { keep: false, basis, rate };
  }
  return { keep: false, basis: 'no-history', rate: 0 };
}

/** The reason on a just-purchased product that stays, naming the rule that kept it. */
export const reboughtReason = (basis: RepurchaseBasis): string => `session:bought-again-often:${basis}`;

/** Without anything learned, every purchase suppresses (the behaviour before re-buying was learned). */
export const SUPPRESS_EVERY_PURCHASE = (): RepurchaseDecision => ({ keep: false, basis: 'no-history', rate: 0 });
