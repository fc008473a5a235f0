/**
 * The in-run references the lambdarec model is measured against, written plainly so anyone can
 * check them: they share nothing with the domain library.
 */
import type { Basket } from './split.js';

export interface Recommender {
  /** Up to `k` products for the customer, best first. */
  recommend(customerId: string, k: number): string[];
}

/** Products by how many invoices hold them, the same list for everyone. */
export function popularityBaseline(train: readonly Basket[]): Recommender {
  const counts = new Map<string, number>();
  for (const basket of train) for (const item of basket.items) counts.set(item, (counts.get(item) ?? 0) + 1);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([item]) => item);
  return { recommend: (_customerId, k) => ranked.slice(0, k) };
}

/** Each customer's products with the number of invoices that hold them and when they last bought them. */
export function purchaseHistories(train: readonly Basket[]): Map<string, Map<string, { count: number; lastAt: number }>> {
  const histories = new Map<string, Map<string, { count: number; lastAt: number }>>();
  for (const basket of train) {
    let history = histories.get(basket.customerId);
    if (history === undefined) histories.set(basket.customerId, (history = new Map()));
    for (const item of basket.items) {
      const entry = history.get(item);
      if (entry === undefined) history.set(item, { count: 1, lastAt: basket.at });
      else {
        entry.count++;
        entry.lastAt = Math.max(entry.lastAt, basket.at);
      }
    }
  }
  return histories;
}

/**
 * Plain item-kNN: cosine between products over binary "customer bought it" vectors, no decay, no
 * cap; a customer's score for a product is the sum of its similarities to everything they bought
 * (products they bought may come back through their neighbours; a product's own similarity of 1
 * does not count).
 */
export function itemKnnBaseline(train: readonly Basket[]): Recommender {
  const histories = purchaseHistories(train);
  const names = [...new Set(train.flatMap((b) => b.items))].sort();
  const n = names.length;
  const indexOf = new Map(names.map((name, i) => [name, i]));
  const buyers = new Float64Array(n);
  const together = new Float64Array(n * n);
  for (const history of histories.values()) {
    const items = [...history.keys()].map((item) => indexOf.get(item)!);
    for (const a of items) {
      buyers[a]!++;
      for (const b of items) if (a !== b) together[a * n + b]!++;
    }
  }
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const shared = together[a * n + b]!;
      if (shared > 0) together[a * n + b] = shared / Math.sqrt(buyers[a]! * buyers[b]!);
    }
  }
  return {
    recommend(customerId, k) {
      const history = histories.get(customerId);
      if (history === undefined) return [];
      const scores = new Float64Array(n);
      for (const item of history.keys()) {
        const row = indexOf.get(item)! * n;
        for (let b = 0; b < n; b++) scores[b]! += together[row + b]!;
      }
      return topK(scores, names, k);
    },
  };
}

/**
 * "Repeat + kNN", strong on re-buying data: the customer's own products, most often bought first
 * (ties: most recently), then the item-kNN list to fill up.
 */
export function repeatThenKnnBaseline(train: readonly Basket[], knn: Recommender = itemKnnBaseline(train)): Recommender {
  const histories = purchaseHistories(train);
  return {
    recommend(customerId, k) {
      const history = histories.get(customerId);
      const own = [...(history ?? new Map<string, { count: number; lastAt: number }>()).entries()]
        .sort((a, b) => b[1].count - a[1].count || b[1].lastAt - a[1].lastAt || a[0].localeCompare(b[0]))
        .map(([item]) => item)
        .slice(0, k);
      if (own.length >= k) return own;
      const listed = new Set(own);
      for (const item of knn.recommend(customerId, k + own.length)) {
        if (own.length >= k) break;
        if (!listed.has(item)) own.push(item);
      }
      return own;
    },
  };
}

function topK(scores: Float64Array, names: readonly string[], k: number): string[] {
  const picked: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! > 0) picked.push(i);
  picked.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return picked.slice(0, k).map((i) => names[i]!);
}
