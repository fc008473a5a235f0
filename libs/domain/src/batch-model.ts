import type { BatchPolicy } from './batch-policy.js';
import { BlendTrainer, type BlendWeights } from './blend-training.js';
import { CooccurrenceShard } from './co-occurrence.js';
import type { CustomerNeighbourIndex } from './customer-neighbours.js';
import { CustomerIndexBuilder, historyRanker, type HistoryRanker } from './history-ranker.js';
import { topPopular, topPopularByCategory } from './popularity.js';
import { ProductFactsAccumulator, type ProductFacts } from './product-facts.js';
import { repurchaseTable, type RepurchaseTable } from './repurchase-table.js';
import type { ScoredItem } from './scored-item.js';
import { SimilarityIndex } from './similarity-index.js';
import { groupByUser, type Interaction } from './user-history.js';
import { userSignals } from './user-signals.js';

export interface BatchModel {
  /** productId → similar products, best first. */
  similar: Map<string, ScoredItem[]>;
  /** userId → recommendations, best first. */
  perUser: Map<string, ScoredItem[]>;
  popular: ScoredItem[];
  /** category → its most popular products, best first. */
  popularByCategory: Map<string, ScoredItem[]>;
  /** Re-buying per product and per category, for serving's purchase suppression. */
  repurchase: RepurchaseTable;
  stats: { users: number; items: number; similarityPairs: number };
  /** The personal side's weights the run trained on its held-out weeks; undefined: the policy's. */
  blend: BlendWeights | undefined;
  /** Where decay is anchored (the run's watermark). */
  asOf: number;
  /** What the run learned per product, products in name order. */
  facts: ProductFacts[];
}

/** A model with what it was ranked with, to rank one more history the same way. */
export interface BatchRun {
  model: BatchModel;
  /**
   * One user's list from the history given, ranked against this run (its similar items, its
   * customers' re-buy vectors, its re-buy shares and trained weights) at `asOf`, as the run ranked
   * everyone: what re-ranking a user after a checkout gives (`withPurchases`, ADR 017).
   */
  rankHistory: HistoryRanker;
}

/**
 * The batch model over an in-memory history. Similar items: cosine between products over users'
 * log-damped interest, not decayed. Per user: their re-buy vector blended with their nearest
 * customers' (`CustomerNeighbourIndex`), plus what they bought's re-buy share, then the similar
 * items of everything they interacted with, each side normalised to its best and blended by
 * `neighbourWeight` (ADR 016). Popularity: decayed weighted interest.
 * Re-buying: per product and category, the share of buyers who bought again. `asOf` (the run's
 * watermark) anchors decay, so a re-run over the same events gives the same model.
 *
 * It is the sharded computation of the batch service run in one process: the same pieces
 * (`userSignals`, `ProductFactsAccumulator`, `CooccurrenceShard`, `userRecommendations`) in the
 * same order, so `shards` changes how the work is cut, never the model.
 */
export function computeBatchModel(
  interactions: Iterable<Interaction>,
  asOf: number,
  policy: BatchPolicy,
  options: { shards?: number } = {},
): BatchModel {
  return computeBatchRun(interactions, asOf, policy, options).model;
}

/** `computeBatchModel`, keeping what ranks one more user's history against the run. */
export function computeBatchRun(
  interactions: Iterable<Interaction>,
  asOf: number,
  policy: BatchPolicy,
  { shards = 1 }: { shards?: number } = {},
): BatchRun {
  const histories = groupByUser(interactions);
  const facts = new ProductFactsAccumulator(asOf, policy);
  for (const { rows } of histories) for (const row of rows) facts.add(row);
  const products = facts.products();
  const categoryOf = facts.categories();

  const similar = new Map<string, ScoredItem[]>();
  let orderedPairs = 0;
  for (let shard = 0; shard < shards; shard++) {
    const cooccurrence = new CooccurrenceShard(products, (index) => index % shards === shard);
    for (const { rows } of histories) cooccurrence.addUser(userSignals(rows, asOf, policy).cooccurrence);
    for (const [productId, items] of cooccurrence.similarItems(policy, categoryOf)) similar.set(productId, items);
    orderedPairs += cooccurrence.pairs;
  }
  // Shards fill the map product by product in their own order; the model lists products in name order.
  const similarInOrder = new Map(products.filter((id) => similar.has(id)).map((id) => [id, similar.get(id)!]));

  const perUser = new Map<string, ScoredItem[]>();
  const index = new SimilarityIndex(similarInOrder);
  const customers = customerIndex(histories, products, asOf, policy);
  const allFacts = facts.facts();
  const trainer = new BlendTrainer(products, asOf, policy);
  for (const { userId, rows } of histories) trainer.addUser(userId, rows);
  const blend = trainer.train();
  // The profile alone, as the sharded service ranks: the co-occurrence list is the run's business.
  const rankHistory = historyRanker({ facts: allFacts, similar: index, customers, blend }, policy);
  for (const { userId, rows } of histories) {
    const list = rankHistory(userId, rows, asOf);
    if (list.length > 0) perUser.set(userId, list);
  }
  const model: BatchModel = {
    similar: similarInOrder,
    perUser,
    popular: topPopular(allFacts, policy),
    popularByCategory: topPopularByCategory(allFacts, policy),
    repurchase: repurchaseTable(allFacts),
    stats: { users: histories.length, items: products.length, similarityPairs: orderedPairs / 2 },
    blend,
    asOf,
    facts: allFacts,
  };
  return { model, rankHistory };
}

/** Every user's re-buy vector over the run's product numbers, as the user-lists stage writes them. */
export function customerIndex(
  histories: ReadonlyArray<{ userId: string; rows: readonly Interaction[] }>,
  products: readonly string[],
  asOf: number,
  policy: BatchPolicy,
): CustomerNeighbourIndex {
  const builder = new CustomerIndexBuilder(products, asOf, policy);
  for (const { userId, rows } of histories) builder.addUser(userId, rows);
  return builder.build();
}
