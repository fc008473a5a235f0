import { describe, expect, it } from 'vitest';
import { mergeRecommendations } from './merge.js';
import { buildCandidate, buildInput, buildSession, catalog, ids, itemOf } from '../test/merge-input.js';

describe('mergeRecommendations', () => {
  it('when there are no candidates at all, the answer is empty', () => {
    expect(mergeRecommendations(buildInput())).toEqual([]);
  });

  it('normalises personal scores so the best personal pick scores 1 and keeps its batch reasons', () => {
    const items = mergeRecommendations(
      buildInput({ personal: [buildCandidate('p1', 4, { reasons: ['batch:similar-to:p9'] }), buildCandidate('p2', 2)] }),
    );
    expect(items).toEqual([
      { productId: 'p1', score: 1, category: null, reasons: ['batch:similar-to:p9'] },
      { productId: 'p2', score: 0.5, category: null, reasons: ['batch:similar-to:seed-of-p2'] },
    ]);
  });

  it('when a purchased item is in the batch list, it is omitted', () => {
    const input = buildInput({
      personal: [buildCandidate('bought', 5), buildCandidate('p2', 1)],
      popular: [buildCandidate('bought', 9)],
      similarToRecent: new Map([['p2', [buildCandidate('bought', 1)]]]),
      session: buildSession({ suppressed: new Set(['bought']) }),
    });
    expect(ids(input)).toEqual(['p2']);
  });

  it('when the catalog says a product is out of stock, it is omitted', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 5), buildCandidate('p2', 1)],
      catalog: catalog({ p1: { inStock: false }, p2: { inStock: true } }),
    });
    expect(ids(input)).toEqual(['p2']);
  });

  it('keeps a product the catalog does not know, with the category its candidate carries', () => {
    const input = buildInput({ personal: [buildCandidate('unknown', 1, { category: 'shoes' })], catalog: catalog({}) });
    expect(mergeRecommendations(input)).toEqual([expect.objectContaining({ productId: 'unknown', category: 'shoes' })]);
  });

  it("uses the catalog's category over the candidate's", () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 1, { category: 'old-category' })],
      catalog: catalog({ p1: { category: 'shoes' } }),
    });
    expect(itemOf(input, 'p1')?.category).toBe('shoes');
  });

  it('when the catalog knows a product but not its category, the candidate category is used', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 1, { category: 'shoes' })],
      catalog: catalog({ p1: { category: null } }),
    });
    expect(itemOf(input, 'p1')?.category).toBe('shoes');
  });

  it('omits every product named in exclude, whichever source it came from', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 3), buildCandidate('p2', 2)],
      similarToRecent: new Map([['v1', [buildCandidate('p3', 1)]]]),
      popular: [buildCandidate('p4', 1)],
      exclude: ['p1', 'p3', 'p4'],
    });
    expect(ids(input)).toEqual(['p2']);
  });

  it('with a category filter, keeps only items of that category, judged by the catalog category', () => {
    const input = buildInput({
      personal: [
        buildCandidate('moved-in', 4, { category: 'bags' }),
        buildCandidate('moved-out', 3, { category: 'shoes' }),
        buildCandidate('stays', 2, { category: 'shoes' }),
        buildCandidate('no-category', 1, { category: null }),
      ],
      catalog: catalog({ 'moved-in': { category: 'shoes' }, 'moved-out': { category: 'bags' } }),
      category: 'shoes',
    });
    expect(ids(input)).toEqual(['moved-in', 'stays']);
  });

  it('a fully boosted category raises an item by the categoryBoost fraction and says why', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 1, { category: 'shoes', reasons: ['batch:similar-to:p9'] })],
      session: buildSession({ categoryBoosts: new Map([['shoes', 1]]) }),
      policy: { categoryBoost: 0.3 },
    });
    expect(mergeRecommendations(input)).toEqual([
      { productId: 'p1', score: 1.3, category: 'shoes', reasons: ['batch:similar-to:p9', 'session:category-boost:shoes'] },
    ]);
  });

  it('a partly boosted category raises an item proportionally to its boost', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 1, { category: 'bags' })],
      session: buildSession({ categoryBoosts: new Map([['bags', 0.5]]) }),
      policy: { categoryBoost: 0.3 },
    });
    expect(itemOf(input, 'p1')?.score).toBe(1.15);
  });

  it('the category boost can lift an item above a stronger unboosted one', () => {
    const input = buildInput({
      personal: [buildCandidate('plain', 1, { category: 'bags' }), buildCandidate('boosted', 0.9, { category: 'shoes' })],
      session: buildSession({ categoryBoosts: new Map([['shoes', 1]]) }),
    });
    expect(ids(input)).toEqual(['boosted', 'plain']);
  });

  it('boosts by the catalog category, not the candidate category', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 1, { category: 'bags' })],
      catalog: catalog({ p1: { category: 'shoes' } }),
      session: buildSession({
        categoryBoosts: new Map([
          ['bags', 1],
          ['shoes', 0.5],
        ]),
      }),
    });
    expect(mergeRecommendations(input)).toEqual([
      expect.objectContaining({ score: 1.15, reasons: expect.arrayContaining(['session:category-boost:shoes']) }),
    ]);
  });

  it('when the item has no category or its category has no boost, the score and reasons are unchanged', () => {
    const input = buildInput({
      personal: [buildCandidate('none', 1, { category: null }), buildCandidate('other', 1, { category: 'toys' })],
      session: buildSession({ categoryBoosts: new Map([['shoes', 1]]) }),
    });
    for (const item of mergeRecommendations(input)) {
      expect(item.score).toBe(1);
      expect(item.reasons).not.toContainEqual(expect.stringMatching(/^session:category-boost:/));
    }
  });

  it('a zero boost adds no reason', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 1, { category: 'shoes' })],
      session: buildSession({ categoryBoosts: new Map([['shoes', 0]]) }),
    });
    expect(itemOf(input, 'p1')?.reasons).toEqual(['batch:similar-to:seed-of-p1']);
  });

  it('a category boost weighed at 0 (a variant that turns the boost off) adds no reason either', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 1, { category: 'shoes' })],
      session: buildSession({ categoryBoosts: new Map([['shoes', 1]]) }),
      policy: { categoryBoost: 0 },
    });
    expect(itemOf(input, 'p1')).toMatchObject({ score: 1, reasons: ['batch:similar-to:seed-of-p1'] });
  });

  it('a product in the cart is not recommended, whichever source brings it', () => {
    const input = buildInput({
      personal: [buildCandidate('carted', 5), buildCandidate('p2', 1)],
      popular: [buildCandidate('carted', 9)],
      similarToRecent: new Map([['p2', [buildCandidate('carted', 1)]]]),
      session: buildSession({ inCart: new Set(['carted']) }),
    });
    expect(ids(input)).toEqual(['p2']);
  });

  it('when a product first seen without a category comes again with one, the category is taken', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 1, { category: null })],
      popular: [buildCandidate('p1', 1, { category: 'shoes' })],
    });
    expect(itemOf(input, 'p1')?.category).toBe('shoes');
  });

  it('honours the limit after filtering, keeping the strongest', () => {
    const input = buildInput({
      personal: [buildCandidate('p1', 5), buildCandidate('p2', 4), buildCandidate('p3', 3), buildCandidate('p4', 2)],
      exclude: ['p1'],
      limit: 2,
    });
    expect(ids(input)).toEqual(['p2', 'p3']);
  });

  it('orders ties by productId whatever the input order', () => {
    const candidates = [buildCandidate('c', 1), buildCandidate('a', 1), buildCandidate('b', 1)];
    expect(ids(buildInput({ personal: candidates }))).toEqual(['a', 'b', 'c']);
    expect(ids(buildInput({ personal: [...candidates].reverse() }))).toEqual(['a', 'b', 'c']);
  });

  it('rounds scores to four decimals', () => {
    const input = buildInput({ personal: [buildCandidate('top', 3), buildCandidate('third', 1)] });
    expect(itemOf(input, 'third')?.score).toBe(0.3333);
  });

  it('does not change its input', () => {
    const personal = [buildCandidate('p1', 2, { category: 'shoes' })];
    const popular = [buildCandidate('p1', 1)];
    const input = buildInput({ personal, popular, session: buildSession({ categoryBoosts: new Map([['shoes', 1]]) }) });
    mergeRecommendations(input);
    expect(personal).toEqual([buildCandidate('p1', 2, { category: 'shoes' })]);
    expect(popular).toEqual([buildCandidate('p1', 1)]);
  });

  it('when every candidate scores zero, items are still returned with score 0', () => {
    const input = buildInput({ personal: [buildCandidate('p1', 0)] });
    expect(mergeRecommendations(input)).toEqual([expect.objectContaining({ productId: 'p1', score: 0 })]);
  });
});
