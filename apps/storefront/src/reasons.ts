import { BOUGHT_BEFORE_REASON, reboughtReason } from '@lambdarec/domain';

/** Names a product for a shopper: its catalog title, else its id. */
export type ProductNamer = (productId: string) => string;

/**
 * Reasons that carry a value after their prefix (`batch:similar-to:tea-3`). The prefixes are the
 * ones serving documents on GET /recommendations; a new one falls back to a neutral sentence.
 */
const REASONS_WITH_VALUE: ReadonlyArray<{
  prefix: string;
  namesProduct: boolean;
  explain: (value: string, nameOf: ProductNamer) => string;
}> = [
  {
    prefix: 'batch:similar-to:',
    namesProduct: true,
    explain: (productId, nameOf) => `Shoppers who liked ${nameOf(productId)} liked this too`,
  },
  { prefix: 'session:similar-to:', namesProduct: true, explain: (productId, nameOf) => `Goes with ${nameOf(productId)}, from this visit` },
  { prefix: 'session:category-boost:', namesProduct: false, explain: (category) => `You are browsing ${category}` },
];

const withValue = (reason: string) => REASONS_WITH_VALUE.find(({ prefix }) => reason.startsWith(prefix) && reason.length > prefix.length);

const REASONS_AS_IS: ReadonlyMap<string, string> = new Map([
  [BOUGHT_BEFORE_REASON, 'You have bought this before'],
  [reboughtReason('product'), 'You just bought this, and customers often buy it again'],
  [reboughtReason('category'), 'You just bought this, and customers often buy things like it again'],
  ['popular', 'Popular with other shoppers'],
]);

const FALLBACK = 'Picked for you';

/** One reason code of serving in plain words. */
export function explainReason(reason: string, nameOf: ProductNamer): string {
  const sentence = REASONS_AS_IS.get(reason);
  if (sentence !== undefined) return sentence;
  const kind = withValue(reason);
  return kind === undefined ? FALLBACK : kind.explain(reason.slice(kind.prefix.length), nameOf);
}

/** An item's reasons in plain words, each sentence once, in serving's order. */
export const explainReasons = (reasons: readonly string[], nameOf: ProductNamer): string[] => [
  ...new Set(reasons.length === 0 ? [FALLBACK] : reasons.map((reason) => explainReason(reason, nameOf))),
];

/** The products a list of reasons names, so their titles can be looked up in one query. */
export const productsNamedIn = (reasons: readonly string[]): string[] =>
  reasons.flatMap((reason) => {
    const kind = withValue(reason);
    return kind?.namesProduct === true ? [reason.slice(kind.prefix.length)] : [];
  });
