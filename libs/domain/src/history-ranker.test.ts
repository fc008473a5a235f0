import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '@lambdarec/contracts';
import { computeBatchRun } from './batch-model.js';
import { CustomerIndexBuilder, historyRanker } from './history-ranker.js';
import { withPurchases } from './purchase-fold.js';
import { seededRandom } from './seeded-random.js';
import { SimilarityIndex } from './similarity-index.js';
import { groupByUser, type Interaction } from './user-history.js';
import { AS_OF, DAY, policy } from '../test/batch-history.js';

/** A seeded shop: 200 users, 40 products in 5 categories, every event type, purchases on several days. */
function shop(seed: number): Interaction[] {
  const random = seededRandom(seed);
  const rows: Interaction[] = [];
  for (let user = 0; user < 200; user++) {
    const seen = new Set<string>();
    for (let k = 2 + Math.floor(random() * 20); k > 0; k--) {
      const productId = `p${Math.floor(random() ** 2 * 40)}`;
      const type = EVENT_TYPES[Math.floor(random() * EVENT_TYPES.length)]!;
      if (seen.has(`${productId}/${type}`)) continue;
      seen.add(`${productId}/${type}`);
      const count = 1 + Math.floor(random() * 3);
      const lastAt = AS_OF - Math.floor(random() * 200) * DAY;
      const lastDay = Math.floor(lastAt / DAY);
      rows.push({
        userId: `u${user}`,
        productId,
        type,
        count,
        lastAt,
        category: `c${Number(productId.slice(1)) % 5}`,
        purchaseDays: type === 'purchase' ? Array.from({ length: count }, (_, i) => lastDay - (count - 1 - i) * 9) : undefined,
      });
    }
  }
  return rows;
}

describe('historyRanker over what a run keeps', () => {
  const rows = shop(17);
  const run = computeBatchRun(rows, AS_OF, policy);
  const histories = groupByUser(rows);
  // What serving rebuilds: the run's facts and similar lists, every customer's vector from their history.
  const customers = new CustomerIndexBuilder(
    run.model.facts.map((fact) => fact.productId),
    run.model.asOf,
    policy,
  );
  for (const { userId, rows: history } of histories) customers.addUser(userId, history);
  const rank = historyRanker(
    { facts: run.model.facts, similar: new SimilarityIndex(run.model.similar), customers: customers.build(), blend: run.model.blend },
    policy,
  );

  it("gives every user the run's own list at its watermark", () => {
    expect(run.model.blend).toBeDefined();
    expect(run.model.perUser.size).toBeGreaterThan(150);
    for (const { userId, rows: history } of histories) expect(rank(userId, history, AS_OF)).toEqual(run.model.perUser.get(userId) ?? []);
  });

  it('re-ranks a customer after a purchase as the run ranks that history', () => {
    const at = AS_OF + 2 * DAY;
    let changed = 0;
    for (const { userId, rows: history } of histories.slice(0, 40)) {
      const folded = withPurchases(userId, history, [{ productId: 'p3', at, category: 'c3' }]);
      const after = rank(userId, folded, at);
      expect(after).toEqual(run.rankHistory(userId, folded, at));
      if (JSON.stringify(after) !== JSON.stringify(run.model.perUser.get(userId) ?? [])) changed++;
    }
    // The purchase moves most lists: the test would pass vacuously if the fold did nothing.
    expect(changed).toBeGreaterThan(30);
  });
});
