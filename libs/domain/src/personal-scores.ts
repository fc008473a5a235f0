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
 * The personal side's scores: the blend normalised to its best, plus `rateWeight` × the re-buy
 * share of what the user bought (the eval's validation window weighed a staple the user bought
 * above the blend's order alone). Shared by ranking and by the run's training of its weights.
 */
export function personalScores(
  blend: ReadonlyMap<string, number>,
  bought: ReadonlyMap<string, unknown>,
  rates: ReadonlyMap<string, number> | undefined,
  rateWeight: number,
): Map<string, number> {
  const personal = new Map<string, number>();
  let top = 0;
  // Math.max, not a comparison: a NaN score makes the top NaN, and then nothing is personal.
  for (const score of blend.values()) top = Math.max(top, score);
  if (!(top > 0)) return personal;
  for (const [productId, score] of blend) {
    const staple = rates !== undefined && bought.has(productId) ? rateWeight * (rates.get(productId) ?? 0) : 0;
    personal.set(productId, score / top + staple);
  }
  return personal;
}
