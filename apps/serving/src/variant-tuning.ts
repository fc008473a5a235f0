import type { Strategy, Variant, VariantParams } from '@lambdarec/contracts';
import { DEFAULT_MERGE_WEIGHTS, type MergeWeights, type SessionPolicy } from '@lambdarec/domain';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** A variant as serving runs it: its strategy, and the tuning its params make of serving's own. */
export interface TunedVariant {
  name: string;
  strategy: Strategy;
  policy: SessionPolicy;
  weights: MergeWeights;
  /** λ of the category re-rank after the merge (`diversify`); 0 keeps the merge's order. */
  diversity: number;
}

/**
 * Serving's tuning with a variant's overrides, in the domain's units. Only the named variables
 * change; everything else stays what the configuration says, so a variant differs from the
 * baseline in exactly what the experiment tests.
 */
export function tuneVariant(
  variant: Pick<Variant, 'name' | 'strategy' | 'params'>,
  policy: SessionPolicy,
  diversity: number,
): TunedVariant {
  const params: VariantParams = variant.params;
  return {
    name: variant.name,
    strategy: variant.strategy,
    policy: {
      ...policy,
      ...(params.CATEGORY_BOOST === undefined ? {} : { categoryBoost: params.CATEGORY_BOOST }),
      ...(params.BOOST_HALF_LIFE_MINUTES === undefined ? {} : { boostHalfLifeMs: params.BOOST_HALF_LIFE_MINUTES * MINUTE_MS }),
      ...(params.PURCHASE_SUPPRESSION_HOURS === undefined ? {} : { purchaseSuppressionMs: params.PURCHASE_SUPPRESSION_HOURS * HOUR_MS }),
      ...(params.REBUY_THRESHOLD === undefined ? {} : { rebuyThreshold: params.REBUY_THRESHOLD }),
      ...(params.REBUY_MIN_BUYERS === undefined ? {} : { rebuyMinBuyers: params.REBUY_MIN_BUYERS }),
    },
    weights: {
      sessionSimilar: params.SESSION_SIMILAR_WEIGHT ?? DEFAULT_MERGE_WEIGHTS.sessionSimilar,
      rebought: params.REBOUGHT_WEIGHT ?? DEFAULT_MERGE_WEIGHTS.rebought,
      popular: params.POPULAR_WEIGHT ?? DEFAULT_MERGE_WEIGHTS.popular,
    },
    diversity: params.DIVERSITY ?? diversity,
  };
}
