import { DEFAULT_MERGE_WEIGHTS, DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { describe, expect, it } from 'vitest';
import { tuneVariant } from './variant-tuning.js';

describe('tuneVariant', () => {
  it("keeps serving's configured DIVERSITY unless the variant sets its own", () => {
    const plain = tuneVariant({ name: 'a', strategy: 'lambda', params: {} }, DEFAULT_SESSION_POLICY, 0.3);
    expect(plain.diversity).toBe(0.3);
    const own = tuneVariant({ name: 'b', strategy: 'lambda', params: { DIVERSITY: 0 } }, DEFAULT_SESSION_POLICY, 0.3);
    expect(own.diversity).toBe(0);
  });

  it('changes only what the params name', () => {
    const tuned = tuneVariant(
      { name: 'd', strategy: 'batch-only', params: { CATEGORY_BOOST: 2, POPULAR_WEIGHT: 0 } },
      DEFAULT_SESSION_POLICY,
      0.5,
    );
    expect(tuned.policy).toEqual({ ...DEFAULT_SESSION_POLICY, categoryBoost: 2 });
    expect(tuned.weights).toEqual({ ...DEFAULT_MERGE_WEIGHTS, popular: 0 });
    expect(tuned.diversity).toBe(0.5);
  });
});
