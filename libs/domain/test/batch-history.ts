import { computeBatchModel } from '../src/batch-model.js';
import { DEFAULT_BATCH_POLICY, type BatchPolicy } from '../src/batch-policy.js';
import type { Interaction } from '../src/user-history.js';

/** Shared by the batch model's tests: the run's watermark, a day, the default policy, histories. */
export const AS_OF = Date.parse('2025-03-01T00:00:00Z');
export const DAY = 24 * 60 * 60 * 1000;
export const policy: BatchPolicy = { ...DEFAULT_BATCH_POLICY };

export const buildInteraction = (overrides: Partial<Interaction> = {}): Interaction => ({
  userId: 'u1',
  productId: 'p1',
  type: 'view',
  count: 1,
  lastAt: AS_OF,
  category: null,
  ...overrides,
});

/** One view per (user, product) pair. */
export const views = (histories: Record<string, string[]>): Interaction[] =>
  Object.entries(histories).flatMap(([userId, products]) => products.map((productId) => buildInteraction({ userId, productId })));

/** The similarity of `to` in `from`'s similar list, if it is there. */
export const similarity = (model: ReturnType<typeof computeBatchModel>, from: string, to: string) =>
  model.similar.get(from)?.find((item) => item.productId === to)?.score;

// A and B are seen together by four users; A and C only by one. A, B have 5 users each, C has 2.
export const CO_OCCURRENCE = views({
  u1: ['A', 'B'],
  u2: ['A', 'B'],
  u3: ['A', 'B'],
  u4: ['A', 'B'],
  u5: ['A', 'C'],
  u6: ['C', 'D'],
  u7: ['B'],
});
