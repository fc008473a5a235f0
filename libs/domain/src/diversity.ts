/** What a diversity re-rank needs of an item: how strong it is and what kind of product it is. */
export interface Diversifiable {
  productId: string;
  score: number;
  category: string | null;
}

/**
 * Maximal marginal relevance by category (Carbonell and Goldstein, SIGIR 1998): a shop whose ten
 * best guesses are ten mugs shows a few mugs and then the best of what else the shopper may want.
 *
 * Item by item, the next one is the item that maximises (1 − λ) · relevance − λ · redundancy.
 * Relevance is the score over the list's best, so the scores' scale does not matter.
 * Redundancy is the share of the items picked so far that are in its category.
 * A product without a category says nothing about sameness, so it is never redundant.
 * λ = `diversity`: 0 keeps the input order, 1 takes the least-shown category first.
 * Ties go to the earlier item of the input, so the answer is stable and deterministic.
 * O(n · limit): serving's lists are a few hundred candidates at most, ten or twenty wanted.
 */
export function diversify<T extends Diversifiable>(ranked: readonly T[], diversity: number, limit: number): T[] {
  if (!(diversity >= 0 && diversity <= 1)) throw new RangeError(`diversity is between 0 and 1, not ${diversity}`);
  const wanted = Math.min(Math.max(0, Math.floor(limit)), ranked.length);
  if (diversity === 0) return ranked.slice(0, wanted);

  let best = 0;
  for (const item of ranked) if (item.score > best) best = item.score;
  // A list with no positive score has nothing to weigh: only the categories then decide.
  const relevanceOf = (item: T) => (best > 0 ? item.score / best : 0);
  const picksByCategory = new Map<string, number>();
  const taken = new Uint8Array(ranked.length);
  const picked: T[] = [];
  while (picked.length < wanted) {
    let chosen = -1;
    let chosenValue = -Infinity;
    for (let i = 0; i < ranked.length; i++) {
      if (taken[i] === 1) continue;
      const item = ranked[i]!;
      const sameCategory = item.category === null ? 0 : (picksByCategory.get(item.category) ?? 0);
      const redundancy = picked.length === 0 ? 0 : sameCategory / picked.length;
      const value = (1 - diversity) * relevanceOf(item) - diversity * redundancy;
      // The first candidate is taken whatever its value, so a NaN score cannot leave the pick empty.
      if (chosen === -1 || value > chosenValue) {
        chosen = i;
        chosenValue = value;
      }
    }
    const item = ranked[chosen]!;
    taken[chosen] = 1;
    picked.push(item);
    if (item.category !== null) picksByCategory.set(item.category, (picksByCategory.get(item.category) ?? 0) + 1);
  }
  return picked;
}
