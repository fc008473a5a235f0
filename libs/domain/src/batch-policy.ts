import type { CustomerNeighbourPolicy } from './customer-neighbours.js';
import type { BlendTrainingPolicy } from './blend-training.js';
import type { DueAgainPolicy } from './due-again.js';
import type { RebuyVectorPolicy } from './rebuy-vector.js';

export interface BatchPolicy extends RebuyVectorPolicy, CustomerNeighbourPolicy, DueAgainPolicy, BlendTrainingPolicy {
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
   * Weight of similar items against the user's personal scores (re-buys blended with their
   * nearest customers'), each side normalised to its best. Small since the customers' blend came
   * in: on the eval's validation window 0 to 0.1 tie, and similar items still rank the users
   * without purchases. @defaultValue 0.1
   */
  neighbourWeight: number;
  /**
   * Added to a product the user bought, times its re-buy share (`rebuyRates`), on the personal
   * side's scale (its best is 1). Chosen on the eval's validation window. @defaultValue 1
   */
  rebuyRateWeight: number;
  /** Buyers who did not come back, added to every product's count before its re-buy share is taken. @defaultValue 5 */
  rebuyRatePrior: number;
}

export const DEFAULT_BATCH_POLICY: Readonly<BatchPolicy> = {
  similarPerItem: 50,
  topNPerUser: 50,
  popularSize: 100,
  popularPerCategory: 20,
  maxItemsPerUser: 100,
  interestHalfLifeMs: 14 * 24 * 60 * 60 * 1000,
  profileHalfLifeMs: 365 * 24 * 60 * 60 * 1000,
  neighbourWeight: 0.1,
  rebuyRateWeight: 1,
  rebuyRatePrior: 5,
  dueMinRepeats: 5,
  notDueWeight: 1,
  blendHoldoutDays: 28,
  blendSamples: 2000,
  blendMinSamples: 50,
  rebuyGroupSize: 3,
  rebuyWithinGroupDecay: 1,
  rebuyAcrossGroupDecay: 0.4,
  customerNeighbours: 20,
  ownRebuyWeight: 0.2,
  neighbourQueryProducts: 100,
  neighbourPostings: 1000,
};
