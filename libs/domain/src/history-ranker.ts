import type { BatchPolicy } from './batch-policy.js';
import type { BlendWeights } from './blend-training.js';
import { CustomerNeighbourIndex, CustomerVectorsBuilder, numberedRebuyVector } from './customer-neighbours.js';
import { rebuyRates } from './personal-scores.js';
import type { ProductFacts } from './product-facts.js';
import type { ScoredItem } from './scored-item.js';
import type { SimilarityIndex } from './similarity-index.js';
import type { Interaction } from './user-history.js';
import { rebuyIntervals, userRecommendations } from './user-ranking.js';
import { userProfile, userSignals } from './user-signals.js';

/**
 * One user's list from the history given, ranked at `at` against a run: what the run gave every
 * user at its watermark, and what re-ranking a customer after a checkout gives (ADR 017).
 */
export type HistoryRanker = (userId: string, rows: readonly Interaction[], at: number) => ScoredItem[];

/** What a run ranks users with: the pieces every user-items shard of it reads. */
export interface RunRankingInputs {
  /** Every product of the run's input, in name order, with what the run learned about it. */
  facts: readonly ProductFacts[];
  similar: SimilarityIndex;
  /** Every customer's re-buy vector (`CustomerIndexBuilder`). */
  customers: CustomerNeighbourIndex;
  /** The weights the run trained on its held-out weeks; undefined: the policy's. */
  blend: BlendWeights | undefined;
}

/**
 * Ranks histories as the run ranked its users: the batch model in one process and serving's re-rank
 * after a purchase rank through here, and the user-items shards call `rankUser` with the same
 * inputs, so they cannot disagree (batch-scale.test.ts checks a sharded run against it).
 */
export function historyRanker({ facts, similar, customers, blend }: RunRankingInputs, policy: BatchPolicy): HistoryRanker {
  const categoryOf = new Map(facts.map((fact) => [fact.productId, fact.category]));
  const rates = rebuyRates(facts, policy.rebuyRatePrior);
  const intervals = rebuyIntervals(facts);
  return (userId, rows, at) =>
    userRecommendations(userProfile(rows, at, policy), similar, categoryOf, policy, {
      userId,
      customers,
      rebuyRates: rates,
      rebuyIntervals: intervals,
      blendWeights: blend,
    });
}

/**
 * The run's customers' re-buy vectors, one user's history at a time (users streamed from the
 * database), numbered over the run's products in name order as the user-lists stage numbers
 * them. Typed arrays: about 12 bytes per (customer, product bought), no object per entry.
 */
export class CustomerIndexBuilder {
  readonly #numberOf: Map<string, number>;
  readonly #vectors = new CustomerVectorsBuilder();

  constructor(
    private readonly products: readonly string[],
    private readonly asOf: number,
    private readonly policy: BatchPolicy,
  ) {
    this.#numberOf = new Map(products.map((id, number) => [id, number]));
  }

  addUser(userId: string, rows: readonly Interaction[]): void {
    const { numbers, values } = numberedRebuyVector(userSignals(rows, this.asOf, this.policy).rebuy, this.#numberOf);
    if (numbers.length > 0) this.#vectors.add(userId, numbers, values);
  }

  build(): CustomerNeighbourIndex {
    return new CustomerNeighbourIndex(this.products, this.#vectors.build(), this.policy);
  }
}
