import { BOUGHT_BEFORE_REASON, reboughtReason } from '@lambdarec/domain';
import { describe, expect, it } from 'vitest';
import { explainReason, explainReasons, productsNamedIn } from './reasons.js';

const titles = new Map([
  ['tea-3', 'Assam'],
  ['coffee-1', 'Espresso beans'],
]);
const nameOf = (productId: string) => titles.get(productId) ?? productId;

describe('reasons in plain words', () => {
  it.each([
    ['batch:similar-to:tea-3', 'Shoppers who liked Assam liked this too'],
    ['session:similar-to:coffee-1', 'Goes with Espresso beans, from this visit'],
    ['session:category-boost:shoes', 'You are browsing shoes'],
    [BOUGHT_BEFORE_REASON, 'You have bought this before'],
    [reboughtReason('product'), 'You just bought this, and customers often buy it again'],
    [reboughtReason('category'), 'You just bought this, and customers often buy things like it again'],
    ['popular', 'Popular with other shoppers'],
  ])('%s reads "%s"', (reason, sentence) => {
    expect(explainReason(reason, nameOf)).toBe(sentence);
  });

  it('names a product the catalog does not know by its id', () => {
    expect(explainReason('batch:similar-to:p-404', nameOf)).toBe('Shoppers who liked p-404 liked this too');
  });

  it('falls back to a neutral sentence for a reason it does not know, or a prefix without a value', () => {
    expect(explainReason('batch:something-new', nameOf)).toBe('Picked for you');
    expect(explainReason('session:category-boost:', nameOf)).toBe('Picked for you');
  });

  it('says each sentence once, in the order serving gave the reasons', () => {
    expect(explainReasons(['session:category-boost:tea', 'batch:similar-to:tea-3', 'x:1', 'x:2'], nameOf)).toEqual([
      'You are browsing tea',
      'Shoppers who liked Assam liked this too',
      'Picked for you',
    ]);
    expect(explainReasons([], nameOf)).toEqual(['Picked for you']);
  });

  it('lists the products that reasons name, for one catalog lookup', () => {
    expect(productsNamedIn(['batch:similar-to:tea-3', 'session:similar-to:coffee-1', 'session:category-boost:tea', 'popular'])).toEqual([
      'tea-3',
      'coffee-1',
    ]);
  });
});
