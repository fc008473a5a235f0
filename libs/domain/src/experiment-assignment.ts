/**
 * A user's variant: a pure function of the experiment id and the user id, so that a shopper sees
 * the same variant on every request and every serving instance, with nothing stored. A hash of
 * both (rather than of the user alone) gives each experiment an independent split.
 */
export function assignVariant(experimentId: string, userId: string, weights: readonly number[]): number {
  const total = weights.reduce((sum, weight) => sum + Math.max(0, weight), 0);
  if (!(total > 0)) throw new RangeError('the weights must sum to a positive number');
  const point = unitHash(`${experimentId}\u0000${userId}`) * total;
  let cumulative = 0;
  for (let index = 0; index < weights.length; index++) {
    cumulative += Math.max(0, weights[index]!);
    if (point < cumulative) return index;
  }
  // Only rounding can get here: the last variant with a weight.
  for (let index = weights.length - 1; index >= 0; index--) if (weights[index]! > 0) return index;
  return 0;
}

/**
 * A string → [0, 1), uniform enough for splitting users: FNV-1a over the UTF-16 code units, then
 * murmur3's 32-bit finaliser, since FNV alone leaves similar ids (u1, u2, …) in similar buckets.
 */
export function unitHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 4294967296;
}
