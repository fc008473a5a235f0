import {
  BOUGHT_BEFORE_REASON,
  DUE_AGAIN_REASON,
  SIMILAR_TO_REASON,
  type Candidate,
  type RankedCandidate,
  type ScoredItem,
} from '@lambdarec/domain';

/**
 * How the per-user and per-product lists are stored: each item as `[productId, score, category,
 * reasons]`, and the two batch reasons abbreviated (`^` bought before, `~P` similar to P). A run
 * writes 50 items for each of its users: this is about half the bytes of the items as objects,
 * which node serialises and Postgres checks, compresses and logs. Lists of the older object form
 * (runs written before) are read as they are.
 */
export type StoredItem = [productId: string, score: number, category: string | null, reasons: string[]];
export type StoredList = Array<StoredItem | Candidate>;

const encodeReason = (reason: string) =>
  reason === BOUGHT_BEFORE_REASON ? '^' : reason.startsWith(SIMILAR_TO_REASON) ? `~${reason.slice(SIMILAR_TO_REASON.length)}` : reason;
const decodeReason = (reason: string) =>
  reason === '^' ? BOUGHT_BEFORE_REASON : reason.startsWith('~') ? `${SIMILAR_TO_REASON}${reason.slice(1)}` : reason;

export const listJson = (items: readonly ScoredItem[]): string =>
  JSON.stringify(items.map((item): StoredItem => [item.productId, item.score, item.category, item.reasons.map(encodeReason)]));

/**
 * Encodes ranked per-user lists (`rankUser`) into the very text that `listJson` makes of the
 * `userRecommendations` items they stand for, without making those items: a user-items shard
 * writes 50 items for each of its users, and building objects and reason strings only to
 * abbreviate them again was a third of its time per user. The text is put together from pieces
 * made once per shard (an item's `["id",` and `,category,` per product, its reasons' JSON per kind
 * of reason and seed): `JSON.stringify` of an array per item was the stage's largest cost once
 * every user's list was full (ADR 016). Only the score is turned into text per item, as JSON does.
 */
export function createRankedListEncoder(categoryOf: ReadonlyMap<string, string | null>): (items: readonly RankedCandidate[]) => string {
  const none = '[]';
  const bought = JSON.stringify([encodeReason(BOUGHT_BEFORE_REASON)]);
  const due = JSON.stringify([DUE_AGAIN_REASON]);
  const similarTo = new Map<string, string>();
  const boughtAndSimilarTo = new Map<string, string>();
  const dueAndSimilarTo = new Map<string, string>();
  const reasons = ({ bought: wasBought, because, due: isDue }: RankedCandidate): string => {
    const own = !wasBought ? undefined : isDue === true ? DUE_AGAIN_REASON : BOUGHT_BEFORE_REASON;
    if (because === undefined) return own === undefined ? none : own === DUE_AGAIN_REASON ? due : bought;
    const cache = own === undefined ? similarTo : own === DUE_AGAIN_REASON ? dueAndSimilarTo : boughtAndSimilarTo;
    let found = cache.get(because);
    if (found === undefined) {
      const similar = encodeReason(`${SIMILAR_TO_REASON}${because}`);
      cache.set(because, (found = JSON.stringify(own === undefined ? [similar] : [encodeReason(own), similar])));
    }
    return found;
  };
  const heads = new Map<string, { id: string; category: string }>();
  const headOf = (productId: string) => {
    let head = heads.get(productId);
    if (head === undefined) {
      heads.set(
        productId,
        (head = { id: `[${JSON.stringify(productId)},`, category: `,${JSON.stringify(categoryOf.get(productId) ?? null)},` }),
      );
    }
    return head;
  };
  return (items) => {
    let text = '[';
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const head = headOf(item.productId);
      // JSON writes a finite number as String does, and anything else as null.
      const score = Number.isFinite(item.score) ? String(item.score) : 'null';
      text += `${i === 0 ? '' : ','}${head.id}${score}${head.category}${reasons(item)}]`;
    }
    return `${text}]`;
  };
}

export const decodeList = (stored: StoredList): Candidate[] =>
  stored.map((item) =>
    Array.isArray(item) ? { productId: item[0], score: item[1], category: item[2], reasons: item[3].map(decodeReason) } : item,
  );
