import type { Interaction } from '@lambdarec/domain';

/** One view an hour ago: the history serving tests publish a batch model from. */
export const viewed = (userId: string, productId: string, category = 'tea'): Interaction => ({
  userId,
  productId,
  type: 'view',
  count: 1,
  lastAt: Date.now() - 3_600_000,
  category,
});
