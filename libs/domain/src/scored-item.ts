export interface ScoredItem {
  productId: string;
  score: number;
  category: string | null;
  reasons: string[];
}

/** A per-user reason: the product is one the user bought before (a re-buy candidate). */
export const BOUGHT_BEFORE_REASON = 'batch:bought-before';
/** Prefix of a similar item's reason, followed by the product it is similar to. */
export const SIMILAR_TO_REASON = 'batch:similar-to:';
