export interface ScoredItem {
  productId: string;
  score: number;
  category: string | null;
  reasons: string[];
}

/** A per-user reason: the product is one the user bought before (a re-buy candidate). */
export const BOUGHT_BEFORE_REASON = 'batch:bought-before';
/** A per-user reason: bought before, and the usual wait before customers buy it again has passed. */
export const DUE_AGAIN_REASON = 'batch:due-again';
/** Prefix of a similar item's reason, followed by the product it is similar to. */
export const SIMILAR_TO_REASON = 'batch:similar-to:';
