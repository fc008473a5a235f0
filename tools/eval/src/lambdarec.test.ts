import { describe, expect, it } from 'vitest';
import { DEFAULT_BATCH_POLICY, DEFAULT_MERGE_WEIGHTS, DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { trainLambdarec } from './lambdarec.js';
import type { SessionEvent } from './protocols.js';
import type { Basket } from './split.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2011-06-01T10:00:00Z');
let invoice = 0;
const basket = (customerId: string, day: number, items: string[]): Basket => ({
  customerId,
  invoice: String(++invoice),
  at: T0 + day * DAY,
  items,
});

// Tea drinkers buy biscuits with their tea, again and again; coffee drinkers buy filters. Many
// customers bought a fridge, once. Ann has only ever bought coffee.
const train: Basket[] = [
  ...['t1', 't2', 't3', 't4', 't5'].flatMap((c) => [basket(c, 1, ['tea', 'biscuits']), basket(c, 20, ['tea', 'biscuits'])]),
  ...['c1', 'c2', 'c3'].flatMap((c) => [basket(c, 2, ['coffee', 'filters']), basket(c, 21, ['coffee', 'filters'])]),
  ...['f1', 'f2', 'f3', 'f4', 'f5', 'f6'].map((c) => basket(c, 5, ['fridge'])),
  basket('ann', 10, ['coffee']),
];
const CATEGORIES: Record<string, string> = { tea: 'drinks', coffee: 'drinks', biscuits: 'snacks', filters: 'kitchen', fridge: 'kitchen' };
const categoryOf = (productId: string) => CATEGORIES[productId] ?? null;
const model = trainLambdarec(train, categoryOf, DEFAULT_BATCH_POLICY, DEFAULT_SESSION_POLICY);
const asked = T0 + 40 * DAY;
const purchase = (productId: string, i: number): SessionEvent => ({ type: 'purchase', productId, at: asked - 60_000 + i * 5_000 });
const ids = (items: ReadonlyArray<{ productId: string }>) => items.map((item) => item.productId);

describe('recommendItems after a purchase (ADR 017)', () => {
  it("ranks the customer again with the session's purchases: the customers who buy what was just bought lead", () => {
    const before = ids(model.recommendItems('ann', [], asked, 10));
    expect(before.indexOf('filters')).toBeLessThan(before.indexOf('biscuits'));
    const mergedOnly = ids(model.recommendMergeOnly('ann', [purchase('tea', 0)], asked, 10));
    expect(mergedOnly.indexOf('filters')).toBeLessThan(mergedOnly.indexOf('biscuits'));
    const reranked = ids(model.recommendItems('ann', [purchase('tea', 0)], asked, 10));
    expect(reranked.indexOf('biscuits')).toBeGreaterThanOrEqual(0);
    expect(reranked.indexOf('biscuits')).toBeLessThan(reranked.indexOf('filters'));
  });

  it('lets the purchases only suppress: a kept staple says why, at no extra weight; they boost no category and seed no similar items', () => {
    const session = [purchase('tea', 0), purchase('fridge', 1)];
    const served = model.recommendMergeOnly('ann', session, asked, 10);
    const reranked = model.recommendItems('ann', session, asked, 10);
    // DESIGN's rule holds in both: the fridge (bought once by everyone) leaves the list, tea stays and says why.
    for (const list of [served, reranked]) {
      expect(ids(list)).not.toContain('fridge');
      expect(list.find((item) => item.productId === 'tea')!.reasons).toContain('session:bought-again-often:product');
    }
    // Merged only (before ADR 017), the purchases boost their categories and bring their similar items ...
    const sessionReasons = (list: typeof served) =>
      list.flatMap((item) => item.reasons).filter((r) => /^session:(category-boost|similar-to):/.test(r));
    expect(sessionReasons(served).length).toBeGreaterThan(0);
    // ... re-ranked, the list already holds what they say.
    expect(sessionReasons(reranked)).toEqual([]);
    // The staple's score is the re-ranked list's own, whatever a just-bought staple weighs as served.
    const teaScore = (answer: 'recommendItems' | 'recommendMergeOnly', rebought: number) =>
      model
        .withPolicy(DEFAULT_SESSION_POLICY, { ...DEFAULT_MERGE_WEIGHTS, rebought })
        [answer]('ann', [purchase('tea', 0)], asked, 10)
        .find((item) => item.productId === 'tea')!.score;
    expect(teaScore('recommendItems', 5)).toBe(teaScore('recommendItems', DEFAULT_MERGE_WEIGHTS.rebought));
    expect(teaScore('recommendMergeOnly', 5)).toBeGreaterThan(teaScore('recommendMergeOnly', DEFAULT_MERGE_WEIGHTS.rebought));
  });

  it('answers as before when the session bought nothing', () => {
    const session: SessionEvent[] = [{ type: 'view', productId: 'tea', at: asked - 60_000 }];
    expect(model.recommendItems('ann', session, asked, 10)).toEqual(model.recommendMergeOnly('ann', session, asked, 10));
  });
});
