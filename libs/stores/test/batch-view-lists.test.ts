import { describe, expect, it } from 'vitest';
import { reasonsOf, type RankedCandidate } from '@lambdarec/domain';
import { createRankedListEncoder, decodeList, listJson, type StoredList } from '../src/batch-view-lists.js';

describe('ranked lists as a user-items shard writes them', () => {
  it('encode to the text listJson makes of the same items, for every kind of reason, due again included', () => {
    const categoryOf = new Map<string, string | null>([
      ['a', 'tea'],
      ['b', null],
    ]);
    const ranked: RankedCandidate[] = [
      { productId: 'a', score: 2, bought: true, because: undefined, due: true },
      { productId: 'b', score: 1.5, bought: true, because: 'a', due: true },
      { productId: 'c', score: 1, bought: true, because: 'a' },
      { productId: 'd', score: 0.5, bought: false, because: 'a' },
      { productId: 'e', score: 0.25, bought: true, because: undefined },
    ];
    const items = ranked.map((candidate) => ({
      productId: candidate.productId,
      score: candidate.score,
      category: categoryOf.get(candidate.productId) ?? null,
      reasons: reasonsOf(candidate),
    }));
    const encoded = createRankedListEncoder(categoryOf)(ranked);
    expect(encoded).toBe(listJson(items));
    expect(decodeList(JSON.parse(encoded) as StoredList).map((item) => item.reasons)).toEqual([
      ['batch:due-again'],
      ['batch:due-again', 'batch:similar-to:a'],
      ['batch:bought-before', 'batch:similar-to:a'],
      ['batch:similar-to:a'],
      ['batch:bought-before'],
    ]);
  });

  it('writes the same text as JSON for ids and categories that need escaping, tiny and huge scores, and an empty list', () => {
    const categoryOf = new Map<string, string | null>([['q"uote\\', 'tée ☕']]);
    const ranked: RankedCandidate[] = [
      { productId: 'q"uote\\', score: 1e-7, bought: false, because: 'x/y' },
      { productId: 'plain', score: 1e21, bought: true, because: 'q"uote\\', due: true },
    ];
    const encode = createRankedListEncoder(categoryOf);
    const items = ranked.map((candidate) => ({
      productId: candidate.productId,
      score: candidate.score,
      category: categoryOf.get(candidate.productId) ?? null,
      reasons: reasonsOf(candidate),
    }));
    expect(encode(ranked)).toBe(listJson(items));
    expect(encode([])).toBe(listJson([]));
  });
});
