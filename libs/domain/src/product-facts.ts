import type { BatchPolicy } from './batch-policy.js';
import { addGaps, gapCount, medianGap, type GapCounts } from './due-again.js';
import type { RepurchaseStats } from './repurchase.js';
import type { Interaction } from './user-history.js';
import { decayFactor, eventWeight } from './weights.js';

/** What a run learns about one product from every row that names it. */
export interface ProductFacts {
  productId: string;
  /** Weighted interest decayed by the popularity half-life. */
  popularity: number;
  /** The category most rows name (ties: the first in name order); null when none does. */
  category: string | null;
  /** Customers who bought it, and those who bought it more than once. */
  buyers: number;
  rebuyers: number;
  /**
   * The usual wait in days before customers buy it again (the median gap between two purchase
   * days of one customer): its own when it has `dueMinRepeats` gaps, else its category's when that
   * has as many, else null.
   */
  rebuyIntervalDays: number | null;
}

/**
 * Per-product facts, row by row in any order. Its memory grows with the catalogue, not with the
 * history: every shard can afford all of it.
 */
export class ProductFactsAccumulator {
  readonly #popularity = new Map<string, number>();
  readonly #repurchase = new Map<string, RepurchaseStats>();
  readonly #categoryVotes = new Map<string, Map<string, number>>();
  readonly #gaps = new Map<string, GapCounts>();

  constructor(
    private readonly asOf: number,
    private readonly policy: BatchPolicy,
  ) {}

  add(row: Interaction): void {
    const weight = eventWeight(row.type) * row.count;
    const decay = decayFactor(this.asOf - row.lastAt, this.policy.interestHalfLifeMs);
    this.#popularity.set(row.productId, (this.#popularity.get(row.productId) ?? 0) + weight * decay);
    if (row.type === 'purchase') {
      let stats = this.#repurchase.get(row.productId);
      if (stats === undefined) this.#repurchase.set(row.productId, (stats = { buyers: 0, rebuyers: 0 }));
      stats.buyers++;
      if (row.count >= 2) stats.rebuyers++;
      if (row.purchaseDays !== undefined && row.purchaseDays.length >= 2) {
        let gaps = this.#gaps.get(row.productId);
        if (gaps === undefined) this.#gaps.set(row.productId, (gaps = new Map()));
        addGaps(gaps, row.purchaseDays);
      }
    }
    if (row.category !== null) {
      let votes = this.#categoryVotes.get(row.productId);
      if (votes === undefined) this.#categoryVotes.set(row.productId, (votes = new Map()));
      votes.set(row.category, (votes.get(row.category) ?? 0) + row.count);
    }
  }

  /** Every product seen, in name order: the numbering that co-occurrence shards share. */
  products(): string[] {
    return [...this.#popularity.keys()].sort();
  }

  categories(): Map<string, string | null> {
    return new Map(this.products().map((productId) => [productId, this.#category(productId)]));
  }

  facts(): ProductFacts[] {
    const interval = this.#rebuyIntervals();
    return this.products().map((productId) => {
      const stats = this.#repurchase.get(productId);
      return {
        productId,
        popularity: this.#popularity.get(productId)!,
        category: this.#category(productId),
        buyers: stats?.buyers ?? 0,
        rebuyers: stats?.rebuyers ?? 0,
        rebuyIntervalDays: interval(productId),
      };
    });
  }

  /** Each product's usual wait: its own gaps when there are enough, else its category's (all its products' gaps). */
  #rebuyIntervals(): (productId: string) => number | null {
    const minimum = this.policy.dueMinRepeats;
    const byCategory = new Map<string, GapCounts>();
    for (const [productId, gaps] of this.#gaps) {
      const category = this.#category(productId);
      if (category === null) continue;
      let total = byCategory.get(category);
      if (total === undefined) byCategory.set(category, (total = new Map()));
      for (const [gap, count] of gaps) total.set(gap, (total.get(gap) ?? 0) + count);
    }
    return (productId) => {
      const own = this.#gaps.get(productId);
      if (own !== undefined && gapCount(own) >= minimum) return medianGap(own) ?? null;
      const category = this.#category(productId);
      const pooled = category === null ? undefined : byCategory.get(category);
      return pooled !== undefined && gapCount(pooled) >= minimum ? (medianGap(pooled) ?? null) : null;
    };
  }

  #category(productId: string): string | null {
    let best: string | null = null;
    let bestCount = -1;
    for (const [category, count] of this.#categoryVotes.get(productId) ?? []) {
      if (count > bestCount || (count === bestCount && best !== null && category < best)) {
        best = category;
        bestCount = count;
      }
    }
    return best;
  }
}
