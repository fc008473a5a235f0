import { describe, expect, it } from 'vitest';
import type { ScoredItem } from './scored-item.js';
import { seededRandom } from './seeded-random.js';
import { SimilarityIndex } from './similarity-index.js';

describe('ranking a user against the similarity index', () => {
  /** Every candidate of a user ranked by a full sort: the definition the cut-off must agree with. */
  const fullSort = (
    seeds: Array<[string, number]>,
    purchased: Map<string, number>,
    similar: Map<string, ScoredItem[]>,
    neighbourWeight: number,
    n: number,
  ) => {
    const sums = new Map<string, number>();
    const topInterest = seeds[0]?.[1] ?? 0;
    for (const [seed, interest] of seeds)
      for (const item of similar.get(seed) ?? [])
        sums.set(item.productId, (sums.get(item.productId) ?? 0) + (interest / topInterest) * item.score);
    const top = Math.max(0, ...sums.values());
    const scores = new Map(purchased);
    if (top > 0)
      for (const [productId, sum] of sums) scores.set(productId, (purchased.get(productId) ?? 0) + (neighbourWeight * sum) / top);
    return [...scores]
      .filter(([, score]) => score > 0)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([productId]) => productId);
  };

  it('keeps the best n by score, ties at the cut-off in name order, as a full sort of all candidates would', () => {
    const random = seededRandom(3);
    // Scores from a few values only, so that many candidates tie, at the cut-off too.
    const similar = new Map<string, ScoredItem[]>();
    for (let seed = 0; seed < 20; seed++) {
      const items = Array.from({ length: 30 }, (_, k) => ({
        productId: `p${(seed * 7 + k * 3) % 90}`,
        score: [0.25, 0.5, 0.75][Math.floor(random() * 3)]!,
        category: null,
        reasons: [],
      }));
      similar.set(
        `s${seed}`,
        items.filter((item, k) => items.findIndex((other) => other.productId === item.productId) === k),
      );
    }
    const index = new SimilarityIndex(similar);
    for (let trial = 0; trial < 200; trial++) {
      const seeds: Array<[string, number]> = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, k): [string, number] => [
        `s${Math.floor(random() * 20)}`,
        4 - k,
      ]);
      const unique = seeds.filter(([seed], k) => seeds.findIndex(([other]) => other === seed) === k);
      const purchased = new Map([
        [`p${Math.floor(random() * 90)}`, 1],
        ['never-similar', 0.5],
      ]);
      const n = 1 + Math.floor(random() * 40);
      const ranked = index.topCandidates(unique, purchased, 0.3, n).map((candidate) => candidate.productId);
      expect(ranked).toEqual(fullSort(unique, purchased, similar, 0.3, n));
    }
  });
});
