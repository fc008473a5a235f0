import { describe, expect, it } from 'vitest';
import { BlendTrainer } from './blend-training.js';
import { DEFAULT_BATCH_POLICY } from './batch-policy.js';
import { utcDay } from './rebuy-vector.js';
import type { Interaction } from './user-history.js';
import { AS_OF, buildInteraction } from '../test/batch-history.js';

const policy = { ...DEFAULT_BATCH_POLICY, blendHoldoutDays: 28, blendMinSamples: 1, customerNeighbours: 20 };
// The first held-out day: the last 28 days, the day of AS_OF included.
const cut = utcDay(AS_OF) - policy.blendHoldoutDays + 1;
const bought = (userId: string, productId: string, ...purchaseDays: number[]): Interaction =>
  buildInteraction({ userId, productId, type: 'purchase', count: purchaseDays.length, purchaseDays });

/**
 * Four "a-n" customers bought shared and next together before the cut; twenty "u" customers each
 * bought shared and a product of their own, then one product in the held-out weeks. Every
 * customer is as near to a u customer as any other (distance² 2), so its 20 neighbours are the
 * first 20 others by name: the four a-n and sixteen u. Its blend before the cut is then:
 * shared α + (1 − α) · 1 = 1, its own product α, next (1 − α) · 4/20; next ranks above the own
 * product only for α < 1/6.
 */
function history(heldOut: (user: string) => string): Interaction[] {
  const rows: Interaction[] = [];
  for (let n = 0; n < 4; n++) rows.push(bought(`a-n${n}`, 'shared', cut - 30), bought(`a-n${n}`, 'next', cut - 30));
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
  return trainer.train();
}

describe('BlendTrainer', () => {
  it("chooses the smallest α when the held-out baskets hold what the user's nearest customers bought", () => {
    // α 0.1: next (0.18) ranks second, under shared; from α 0.2 on, under the user's own product too.
    // Nobody re-bought anything before the cut, so the re-buy share's weight changes nothing: the first tried wins.
    expect(trained(history(() => 'next'))).toEqual({
      ownRebuyWeight: 0.1,
      rebuyRateWeight: 0,
      samples: 20,
      ndcg: expect.closeTo(1 / Math.log2(3), 12),
    });
  });

  it("keeps the policy's weights when the held-out baskets re-buy the user's own product, as they rank it as well as any", () => {
    // From α 0.2 (the policy's) on, the own product ranks second under shared; α 0.1 puts next above it.
    expect(trained(history((user) => `own-${user}`))).toEqual({
      ownRebuyWeight: policy.ownRebuyWeight,
      rebuyRateWeight: policy.rebuyRateWeight,
      samples: 20,
      ndcg: expect.closeTo(1 / Math.log2(3), 12),
    });
  });

  it('trusts no weights with too few users, or when none places a held-out product in a top 10', () => {
    expect(
      trained(
        history(() => 'next'),
        { blendMinSamples: 21 },
      ),
    ).toBeUndefined();
    // A held-out basket of a product nobody bought before: nothing ranks it.
    expect(trained(history(() => 'never-seen'))).toBeUndefined();
  });

  it('trains on at most blendSamples users, the same ones each time, and not at all without held-out weeks', () => {
    const rows = history(() => 'next');
    expect(trained(rows, { blendSamples: 5 })?.samples).toBe(5);
    expect(trained(rows, { blendSamples: 5 })).toEqual(trained(rows, { blendSamples: 5 }));
    expect(trained(rows, { blendHoldoutDays: 0 })).toBeUndefined();
    // Nobody bought in the held-out weeks: nothing to train on.
    expect(trained(rows.filter((row) => (row.purchaseDays ?? []).every((day) => day < cut)))).toBeUndefined();
  });
});
