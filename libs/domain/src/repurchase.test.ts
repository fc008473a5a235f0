import { describe, expect, it } from 'vitest';
import {
  decideRepurchase,
  reboughtReason,
  SUPPRESS_EVERY_PURCHASE,
  type RepurchaseEvidence,
  type RepurchasePolicy,
  type RepurchaseStats,
} from './repurchase.js';
import { computeBatchModel } from './batch-model.js';
import { DEFAULT_BATCH_POLICY } from './batch-policy.js';
import type { Interaction } from './user-history.js';

const policy: RepurchasePolicy = { rebuyThreshold: 0.2, rebuyMinBuyers: 5 };

const stats = (buyers: number, rebuyers: number): RepurchaseStats => ({ buyers, rebuyers });
const decide = (evidence: RepurchaseEvidence, overrides: Partial<RepurchasePolicy> = {}) =>
  decideRepurchase(evidence, { ...policy, ...overrides });

describe('decideRepurchase', () => {
  it('a product enough of whose buyers bought it again is kept, on its own figures', () => {
    expect(decide({ product: stats(10, 3) })).toEqual({ keep: true, basis: 'product', rate: 0.3 });
  });

  it('a rarely re-bought product is suppressed', () => {
    expect(decide({ product: stats(20, 1) })).toEqual({ keep: false, basis: 'product', rate: 0.05 });
  });

  it('a re-buy share exactly at the threshold keeps the product', () => {
    expect(decide({ product: stats(10, 2) })).toMatchObject({ keep: true, basis: 'product' });
    expect(decide({ product: stats(100, 19) })).toMatchObject({ keep: false, basis: 'product' });
  });

  it('a product with too few buyers falls back to its category rate', () => {
    // The product's own figures (every buyer came back) are too thin to trust.
    expect(decide({ product: stats(2, 2), category: stats(50, 2) })).toEqual({ keep: false, basis: 'category', rate: 0.04 });
    expect(decide({ product: stats(1, 0), category: stats(40, 10) })).toEqual({ keep: true, basis: 'category', rate: 0.25 });
  });

  it('a product the batch never saw bought decides on its category', () => {
    expect(decide({ category: stats(40, 10) })).toEqual({ keep: true, basis: 'category', rate: 0.25 });
  });

  it('a product with enough buyers decides on its own figures, whatever its category says', () => {
    expect(decide({ product: stats(10, 0), category: stats(100, 90) })).toEqual({ keep: false, basis: 'product', rate: 0 });
    expect(decide({ product: stats(10, 9), category: stats(100, 0) })).toMatchObject({ keep: true, basis: 'product' });
  });

  it('exactly rebuyMinBuyers buyers are enough to trust a figure, one fewer is not', () => {
    const category = stats(100, 0);
    expect(decide({ product: stats(5, 5), category })).toMatchObject({ keep: true, basis: 'product' });
    expect(decide({ product: stats(4, 4), category })).toMatchObject({ keep: false, basis: 'category' });
  });

  it('a product with no re-buying history is still suppressed', () => {
    expect(decide({})).toEqual({ keep: false, basis: 'no-history', rate: 0 });
  });

  it('when neither the product nor its category has enough buyers, it is suppressed for want of history', () => {
    expect(decide({ product: stats(4, 4), category: stats(4, 4) })).toEqual({ keep: false, basis: 'no-history', rate: 0 });
  });

  it('follows the policy threshold and minimum, not fixed ones', () => {
    const evidence = { product: stats(10, 3) };
    expect(decide(evidence, { rebuyThreshold: 0.5 })).toMatchObject({ keep: false, basis: 'product' });
    expect(decide(evidence, { rebuyMinBuyers: 11 })).toMatchObject({ keep: false, basis: 'no-history' });
  });

  it('decides on the figures the batch model learned: a product its buyers come back for is kept', () => {
    const AS_OF = Date.parse('2025-03-01T00:00:00Z');
    const purchase = (userId: string, productId: string, count: number): Interaction => ({
      userId,
      productId,
      type: 'purchase',
      count,
      lastAt: AS_OF,
      category: 'kitchen',
    });
    // tea: 3 of 5 buyers came back. kettle: 5 buyers, none came back. mug: 1 buyer, falls back to kitchen.
    const rows = [
      ...['u1', 'u2', 'u3'].map((userId) => purchase(userId, 'tea', 2)),
      ...['u4', 'u5'].map((userId) => purchase(userId, 'tea', 1)),
      ...['u1', 'u2', 'u3', 'u4', 'u5'].map((userId) => purchase(userId, 'kettle', 1)),
      purchase('u6', 'mug', 1),
    ];
    const { repurchase } = computeBatchModel(rows, AS_OF, DEFAULT_BATCH_POLICY);
    const decideFor = (productId: string) =>
      decide({ product: repurchase.products.get(productId), category: repurchase.categories.get('kitchen') });
    expect(decideFor('tea')).toEqual({ keep: true, basis: 'product', rate: 0.6 });
    expect(decideFor('kettle')).toEqual({ keep: false, basis: 'product', rate: 0 });
    // kitchen: 11 buyers, 3 came back.
    expect(decideFor('mug')).toEqual({ keep: true, basis: 'category', rate: 3 / 11 });
  });
});

describe('reboughtReason', () => {
  it('names the figures that kept the product', () => {
    expect(reboughtReason('product')).toBe('session:bought-again-often:product');
    expect(reboughtReason('category')).toBe('session:bought-again-often:category');
  });
});

describe('SUPPRESS_EVERY_PURCHASE', () => {
  it('suppresses any product, for want of history', () => {
    expect(SUPPRESS_EVERY_PURCHASE()).toEqual({ keep: false, basis: 'no-history', rate: 0 });
  });
});
