/**
 * Each product's share of buyers who bought it again, shrunk towards 0 by `prior` buyers who did
 * not: a product with two buyers who both came back is no staple yet.
 */
export function rebuyRates(facts: Iterable<{ productId: string; buyers: number; rebuyers: number }>, prior: number): Map<string, number> {
  const rates = new Map<string, number>();
  for (const { productId, buyers, rebuyers } of facts) if (rebuyers > 0) rates.set(productId, rebuyers / (buyers + prior));
  return rates;
}

/**
 * A user's personal scores as parallel arrays, reused from one user to the next: a run ranks every
 * user, and a wholesaler's nearest customers bring a thousand products. Building a Map of them
 * twice per user (blend, then scores) and reading it back was a third of ranking a real shop's
 * history (`npm run bench:batch-model`). Entries `0 .. count − 1` are the user's; ids are unique.
 */
export class PersonalScores {
  ids: string[] = [];
  scores = new Float64Array(64);
  count = 0;

  /** The entries of a map, in its order (callers that have a Map: tests, a user ranked alone). */
  static of(entries: Iterable<readonly [string, number]>): PersonalScores {
    const personal = new PersonalScores();
    for (const [id, score] of entries) personal.push(id, score);
    return personal;
  }

  push(id: string, score: number): void {
    if (this.count === this.scores.length) {
      const grown = new Float64Array(this.scores.length * 2);
      grown.set(this.scores);
      this.scores = grown;
    }
    this.ids[this.count] = id;
    this.scores[this.count++] = score;
  }

  toMap(): Map<string, number> {
    const map = new Map<string, number>();
    for (let i = 0; i < this.count; i++) map.set(this.ids[i]!, this.scores[i]!);
    return map;
  }
}

/**
 * The personal side's scores, in place: the blend normalised to its best, plus `rateWeight` × the
 * re-buy share of what the user bought (the eval's validation window weighed a staple the user
 * bought above the blend's order alone). A blend with no positive best leaves nothing personal.
 */
export function toPersonalScores(
  personal: PersonalScores,
  bought: ReadonlyMap<string, unknown>,
  rates: ReadonlyMap<string, number> | undefined,
  rateWeight: number,
): void {
  const { ids, scores, count } = personal;
  let top = 0;
  // Math.max, not a comparison: a NaN score makes the top NaN, and then nothing is personal.
  for (let i = 0; i < count; i++) top = Math.max(top, scores[i]!);
  if (!(top > 0)) {
    personal.count = 0;
    return;
  }
  for (let i = 0; i < count; i++) {
    const id = ids[i]!;
    const staple = rates !== undefined && bought.has(id) ? rateWeight * (rates.get(id) ?? 0) : 0;
    scores[i] = scores[i]! / top + staple;
  }
}
