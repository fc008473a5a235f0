import { CustomerNeighbourIndex, CustomerVectorsBuilder, numberedRebuyVector } from './customer-neighbours.js';
import { unitHash } from './experiment-assignment.js';
import { byName } from './order.js';
import { rebuyRates } from './personal-scores.js';
import { rebuyVector, utcDay, type RebuyVectorPolicy } from './rebuy-vector.js';
import type { CustomerNeighbourPolicy } from './customer-neighbours.js';
import type { Interaction } from './user-history.js';

/** How a run trains its own blend on the last weeks of its history. */
export interface BlendTrainingPolicy {
  /**
   * Days at the end of the history held out: each user's first basket in them is what the blend,
   * computed from what came before, should rank high. 0 turns training off. @defaultValue 28
   */
  blendHoldoutDays: number;
  /** Users the blend is trained on at most (a seeded sample of those with a held-out basket). @defaultValue 2000 */
  blendSamples: number;
  /** Users with a held-out basket a run needs before it trusts its own weights over the policy's. @defaultValue 50 */
  blendMinSamples: number;
}

/** The weights a run trained, stored with it (`batch_runs.stats.blend`). */
export interface BlendWeights {
  /** α: own vector against the nearest customers' mean. */
  ownRebuyWeight: number;
  /** Weight of a bought product's re-buy share. */
  rebuyRateWeight: number;
  /** Users it was trained on, and their mean NDCG@10 with the weights chosen. */
  samples: number;
  ndcg: number;
}

/** The grid a run searches: around the values the eval chose on its own validation window. */
export const BLEND_GRID = {
  ownRebuyWeight: [0.1, 0.2, 0.3, 0.5],
  rebuyRateWeight: [0, 0.5, 1, 2],
} as const;

interface Sample {
  userId: string;
  own: Map<string, number>;
  target: ReadonlySet<string>;
}

const K = 10;

/**
 * Trains the personal side's two weights on the run's own history: for the users with a basket
 * in the held-out last weeks, their re-buy vectors and their nearest customers' are recomputed
 * from what came before the cut, and the weights that rank their first held-out basket best
 * (mean NDCG@10) win. It sees users one at a time (in name order, as both the batch service and
 * `computeBatchModel` stream them: the reservoir depends on the order) and keeps at most
 * `blendSamples` of them, plus every user's vector before the cut. Re-buy shares come from the
 * purchases before the cut too, so the held-out baskets do not vote for their own predictor.
 */
export class BlendTrainer {
  readonly #cutDay: number;
  readonly #numberOf: Map<string, number>;
  readonly #vectors = new CustomerVectorsBuilder();
  readonly #samples: Sample[] = [];
  readonly #buyers = new Map<string, { buyers: number; rebuyers: number }>();
  #eligible = 0;

  constructor(
    private readonly products: readonly string[],
    asOf: number,
    private readonly policy: BlendTrainingPolicy &
      RebuyVectorPolicy &
      CustomerNeighbourPolicy & { rebuyRateWeight: number; rebuyRatePrior: number },
  ) {
    // The held-out days are the last `blendHoldoutDays`, the day of `asOf` included.
    this.#cutDay = utcDay(asOf) - policy.blendHoldoutDays + 1;
    this.#numberOf = new Map(products.map((id, number) => [id, number]));
  }

  addUser(userId: string, rows: readonly Interaction[]): void {
    if (this.policy.blendHoldoutDays <= 0) return;
    const before: Interaction[] = [];
    let firstAfter = Infinity;
    for (const row of rows) {
      if (row.type !== 'purchase') continue;
      const days = row.purchaseDays ?? [utcDay(row.lastAt)];
      const earlier = days.filter((day) => day < this.#cutDay);
      if (earlier.length > 0) {
        before.push({ ...row, purchaseDays: earlier });
        const stats = this.#buyers.get(row.productId) ?? { buyers: 0, rebuyers: 0 };
        stats.buyers++;
        if (earlier.length >= 2) stats.rebuyers++;
        this.#buyers.set(row.productId, stats);
      }
      for (const day of days) if (day >= this.#cutDay) firstAfter = Math.min(firstAfter, day);
    }
    if (before.length === 0) return;
    const own = rebuyVector(before, this.policy);
    const { numbers, values } = numberedRebuyVector(own, this.#numberOf);
    this.#vectors.add(userId, numbers, values);
    if (firstAfter === Infinity) return;
    const target = new Set(
      rows
        .filter((row) => row.type === 'purchase' && (row.purchaseDays ?? [utcDay(row.lastAt)]).includes(firstAfter))
        .map((row) => row.productId),
    );
    // Reservoir sampling with a hash of the user as its coin: the same history keeps the same sample.
    const sample = { userId, own, target };
    this.#eligible++;
    if (this.#samples.length < this.policy.blendSamples) this.#samples.push(sample);
    else {
      const slot = Math.floor(unitHash(`blend\u0000${userId}`) * this.#eligible);
      if (slot < this.policy.blendSamples) this.#samples[slot] = sample;
    }
  }

  /**
   * The weights that rank the sampled users' held-out baskets best. Undefined (the policy's serve)
   * with fewer than `blendMinSamples` users or when no weights place any held-out product in a
   * top 10; the policy's own pair is tried first and wins ties.
   */
  train(): BlendWeights | undefined {
    if (this.#samples.length === 0 || this.#samples.length < this.policy.blendMinSamples) return undefined;
    const rates = rebuyRates(
      [...this.#buyers].map(([productId, stats]) => ({ productId, ...stats })),
      this.policy.rebuyRatePrior,
    );
    const index = new CustomerNeighbourIndex(this.products, this.#vectors.build(), this.policy);
    const cases = [...this.#samples]
      .sort((a, b) => byName(a.userId, b.userId))
      .map(({ userId, own, target }) => ({
        candidates: trainingCandidates(own, rankable(own, index.blend(userId, own, 0).scores), rates),
        target,
      }));
    const pairs = [
      [this.policy.ownRebuyWeight, this.policy.rebuyRateWeight],
      ...BLEND_GRID.ownRebuyWeight.flatMap((alpha) => BLEND_GRID.rebuyRateWeight.map((rate) => [alpha, rate])),
    ] as const;
    let best: BlendWeights | undefined;
    for (const [ownRebuyWeight, rebuyRateWeight] of pairs) {
      let total = 0;
      for (const { candidates, target } of cases) total += ndcgAt(personalRanking(candidates, ownRebuyWeight, rebuyRateWeight), target);
      const ndcg = total / cases.length;
      if (best === undefined || ndcg > best.ndcg) best = { ownRebuyWeight, rebuyRateWeight, samples: cases.length, ndcg };
    }
    return best !== undefined && best.ndcg > 0 ? best : undefined;
  }
}

/**
 * One sampled user's candidates for every weight of the grid, made once: the blend's products in
 * its order (own products above 0, then the neighbours' others), each with its own value, its
 * neighbours' mean and its re-buy share if the user bought it. Building the blend and its scores
 * as Maps for each of the grid's 17 pairs was most of the training's time.
 */
interface TrainingCandidates {
  ids: string[];
  own: Float64Array;
  hasOwn: Uint8Array;
  mean: Float64Array;
  hasMean: Uint8Array;
  /** The re-buy share of a product the user bought; 0 for the others. */
  rate: Float64Array;
  bought: Uint8Array;
}

function trainingCandidates(
  own: ReadonlyMap<string, number>,
  mean: ReadonlyMap<string, number>,
  rates: ReadonlyMap<string, number>,
): TrainingCandidates {
  const ids = [...own].filter(([, value]) => value > 0).map(([id]) => id);
  const listed = new Set(ids);
  for (const id of mean.keys()) if (!listed.has(id)) ids.push(id);
  const n = ids.length;
  const candidates: TrainingCandidates = {
    ids,
    own: new Float64Array(n),
    hasOwn: new Uint8Array(n),
    mean: new Float64Array(n),
    hasMean: new Uint8Array(n),
    rate: new Float64Array(n),
    bought: new Uint8Array(n),
  };
  ids.forEach((id, i) => {
    const value = own.get(id);
    if (value !== undefined && value > 0) {
      candidates.own[i] = value;
      candidates.hasOwn[i] = 1;
    }
    const m = mean.get(id);
    if (m !== undefined) {
      candidates.mean[i] = m;
      candidates.hasMean[i] = 1;
    }
    if (own.has(id)) {
      candidates.bought[i] = 1;
      candidates.rate[i] = rates.get(id) ?? 0;
    }
  });
  return candidates;
}

let rankingScores = new Float64Array(256);

/**
 * The personal side as `rankUser` scores it (`toPersonalScores` of α × own + (1 − α) × mean, the
 * same sums), best first (ties by name), at most K. A product the user did not buy scores
 * (1 − α) × its neighbours' mean over the same top for every weight, so only the K strongest of
 * those can make the top K: `rankable` left the rest out before the grid.
 */
function personalRanking(candidates: TrainingCandidates, alpha: number, rateWeight: number): string[] {
  const { ids, own, hasOwn, mean, hasMean, rate, bought } = candidates;
  const n = ids.length;
  if (rankingScores.length < n) rankingScores = new Float64Array(Math.max(n, rankingScores.length * 2));
  const scores = rankingScores;
  let top = 0;
  for (let i = 0; i < n; i++) {
    let score = hasOwn[i] === 1 ? alpha * own[i]! : 0;
    if (hasMean[i] === 1) score += (1 - alpha) * mean[i]!;
    scores[i] = score;
    // Math.max, as toPersonalScores: a NaN makes the top NaN, and then nothing is personal.
    top = Math.max(top, score);
  }
  if (!(top > 0)) return [];
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    scores[i] = scores[i]! / top + (bought[i] === 1 ? rateWeight * rate[i]! : 0);
    order.push(i);
  }
  order.sort((a, b) => scores[b]! - scores[a]! || byName(ids[a]!, ids[b]!));
  return order.slice(0, K).map((i) => ids[i]!);
}

/** The neighbours' mean cut to what can rank: the user's own products and the K strongest others. */
function rankable(own: ReadonlyMap<string, number>, mean: ReadonlyMap<string, number>): Map<string, number> {
  const others = [...mean].filter(([id]) => !own.has(id));
  others.sort((a, b) => b[1] - a[1] || byName(a[0], b[0]));
  const kept = new Map(others.slice(0, K));
  for (const id of own.keys()) {
    const value = mean.get(id);
    if (value !== undefined) kept.set(id, value);
  }
  return kept;
}

function ndcgAt(ranked: readonly string[], target: ReadonlySet<string>): number {
  let dcg = 0;
  ranked.forEach((id, i) => {
    if (target.has(id)) dcg += 1 / Math.log2(i + 2);
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(K, target.size); i++) ideal += 1 / Math.log2(i + 2);
  return ideal > 0 ? dcg / ideal : 0;
}
