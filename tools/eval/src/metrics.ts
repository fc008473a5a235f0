/** Ranking quality of one list against what the customer actually bought (binary relevance). */
export interface Scores {
  hit: number;
  recall: number;
  ndcg: number;
}

/** HR@k (any hit), recall@k (share of the target found) and NDCG@k of one ranked list. */
export function scoreList(ranked: readonly string[], target: ReadonlySet<string>, k: number): Scores {
  if (target.size === 0) throw new RangeError('an empty target cannot be scored');
  let hits = 0;
  let dcg = 0;
  const seen = new Set<string>();
  const top = Math.min(k, ranked.length);
  for (let i = 0; i < top; i++) {
    const item = ranked[i]!;
    // A list that repeats an item gets credit for it once.
    if (seen.has(item)) continue;
    seen.add(item);
    if (target.has(item)) {
      hits++;
      dcg += 1 / Math.log2(i + 2);
    }
  }
  let ideal = 0;
  for (let i = 0; i < Math.min(k, target.size); i++) ideal += 1 / Math.log2(i + 2);
  return { hit: hits > 0 ? 1 : 0, recall: hits / target.size, ndcg: dcg / ideal };
}

/** Means of HR@k, recall@k and NDCG@k over many lists, plus the HR@k curve for k = 1..maxK. */
export class MetricAccumulator {
  private count = 0;
  private sums: Scores = { hit: 0, recall: 0, ndcg: 0 };
  private readonly hitsAtK: number[];

  constructor(
    private readonly k = 10,
    private readonly maxK = 20,
  ) {
    this.hitsAtK = new Array<number>(maxK).fill(0);
  }

  add(ranked: readonly string[], target: ReadonlySet<string>): void {
    const scores = scoreList(ranked, target, this.k);
    this.count++;
    this.sums.hit += scores.hit;
    this.sums.recall += scores.recall;
    this.sums.ndcg += scores.ndcg;
    const firstHit = ranked.slice(0, this.maxK).findIndex((item) => target.has(item));
    if (firstHit >= 0) for (let k = firstHit; k < this.maxK; k++) this.hitsAtK[k]!++;
  }

  get n(): number {
    return this.count;
  }

  means(): Scores {
    const n = Math.max(1, this.count);
    return { hit: this.sums.hit / n, recall: this.sums.recall / n, ndcg: this.sums.ndcg / n };
  }

  /** HR@1 … HR@maxK. */
  hitCurve(): number[] {
    const n = Math.max(1, this.count);
    return this.hitsAtK.map((hits) => hits / n);
  }
}
