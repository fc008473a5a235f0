import { describe, expect, it } from 'vitest';
import { BlendTrainer } from './blend-training.js';
import { DEFAULT_BATCH_POLICY } from './batch-policy.js';
import { utcDay } from './rebuy-vector.js';
import type { Interaction } from './user-history.js';
import { AS_OF, buildInteraction } from '../test/batch-history.js';

const policy = { ...DEFAULT_BATCH_POLICY, blendHoldoutDays: 28, customerNeighbours: 20 };
const cut = utcDay(AS_OF) - policy.blendHoldoutDays;
const bought = (userId: string, productId: string, ...purchaseDays: number[]): Interaction =>
  buildInteraction({ userId, productId, type: 'purchase', count: purchaseDays.length, purchaseDays });

/**
 * Ten "a-n" customers bought shared and next together before the cut; twenty "u" customers each
 * bought shared and a product of their own, then one product in the held-out weeks. Every
 * customer is as near to a u customer as any other (distance² 2), so its 20 neighbours are the
 * first 20 others by name: the ten a-n and ten u. Its blend before the cut is then:
 * shared α + (1 − α) · 1 = 1, its own product α, next (1 − α) · 10/20.
 */
function history(heldOut: (user: string) => string): Interaction[] {
  const rows: Interaction[] = [];
  for (let n = 0; n < 10; n++) rows.push(bought(`a-n${n}`, 'shared', cut - 30), bought(`a-n${n}`, 'next', cut - 30));
  for (let u = 10; u < 30; u++) {
    const user = `u${u}`;
    rows.push(bought(user, 'shared', cut - 30));
    const target = heldOut(user);
    if (target === `own-${user}`) rows.push(bought(user, target, cut - 30, cut + 5));
    else rows.push(bought(user, `own-${user}`, cut - 30), bought(user, target, cut + 5));
  }
  return rows;
}

function trained(rows: readonly Interaction[], overrides: Partial<typeof policy> = {}) {
  const users = [...new Set(rows.map((row) => row.userId))].sort();
  const products = [...new Set(rows.map((row) => row.productId))].sort();
  const trainer = new BlendTrainer(products, AS_OF, { ...policy, ...overrides });
  for (const user of users) {
    trainer.addUser(
      user,
      rows.filter((row) => row.userId === user),
    );
  }
  return trainer.train(new Map());
}

describe('BlendTrainer', () => {
  it("chooses the smallest α when the held-out baskets hold what the user's nearest customers bought", () => {
    // α 0.1: next 0.45 ranks second, under shared; α 0.3 or more: under the user's own product too.
    expect(trained(history(() => 'next'))).toEqual({
      ownRebuyWeight: 0.1,
      rebuyRateWeight: 0,
      samples: 20,
      ndcg: expect.closeTo(1 / Math.log2(3), 12),
    });
  });

  it("chooses the largest α when the held-out baskets re-buy the user's own product", () => {
    // Only α 0.5 puts the own product (0.5) above next (0.25), second under shared.
    const weights = trained(history((user) => `own-${user}`));
    expect(weights?.ownRebuyWeight).toBe(0.5);
    expect(weights?.ndcg).toBeCloseTo(1 / Math.log2(3), 12);
  });

  it('trains on at most blendSamples users, the same ones for the same history, and not at all without held-out weeks', () => {
    const rows = history(() => 'next');
    expect(trained(rows, { blendSamples: 5 })?.samples).toBe(5);
    expect(trained(rows, { blendSamples: 5 })).toEqual(trained([...rows].reverse(), { blendSamples: 5 }));
    expect(trained(rows, { blendHoldoutDays: 0 })).toBeUndefined();
    // Nobody bought in the held-out weeks: nothing to train on.
    expect(trained(rows.filter((row) => (row.purchaseDays ?? []).every((day) => day < cut)))).toBeUndefined();
  });
});
