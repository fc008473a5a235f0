export interface BatchPolicy {
  /** Similar items kept per product. @defaultValue 50 */
  similarPerItem: number;
  /** Recommendations kept per user. @defaultValue 50 */
  topNPerUser: number;
  /** Popular items kept. @defaultValue 100 */
  popularSize: number;
  /** Popular items kept per category, for cold starts in a category. @defaultValue 20 */
  popularPerCategory: number;
  /** Products per user that take part in co-occurrence (the strongest); bounds the pair count. @defaultValue 100 */
  maxItemsPerUser: number;
  /** Half-life of popularity: what sells now, not what sold last year. @defaultValue 14 days */
  interestHalfLifeMs: number;
  /**
   * Half-life of a user's own history in their profile. Long: most customers come back after weeks
   * or months, and what they bought then still says what they buy (UCI: median 2 invoices a year).
   * Similarities do not decay at all: an old co-purchase is as much evidence as a new one.
   * @defaultValue 365 days
   */
  profileHalfLifeMs: number;
  /**
   * Weight of similar items against the user's own re-buys, each side normalised to its best.
   * Tuned on the eval's validation window (`npm run eval -- --tune`). @defaultValue 0.3
   */
  neighbourWeight: number;
}

export const DEFAULT_BATCH_POLICY: Readonly<BatchPolicy> = {
  similarPerItem: 50,
  topNPerUser: 50,
  popularSize: 100,
  popularPerCategory: 20,
  maxItemsPerUser: 100,
  interestHalfLifeMs: 14 * 24 * 60 * 60 * 1000,
  profileHalfLifeMs: 365 * 24 * 60 * 60 * 1000,
  neighbourWeight: 0.3,
};
