import type { Candidate } from '@lambdarec/domain';
import type { BatchViewReader } from '@lambdarec/stores';
import { LruMap } from './lru-map.js';

export interface UserItemsCache {
  /** The user's list in the given run (empty for a user the run has no list for). */
  userItems(runId: string, userId: string): Promise<Candidate[]>;
}

const NO_CATEGORY = 0xffffffff;

/**
 * The strings of one run's lists, each kept once however many cached lists hold it: a run has a
 * few thousand products and categories but tens of thousands of lists of 50 items.
 */
class RunStrings {
  private readonly indexOf = new Map<string, number>();
  private readonly values: string[] = [];
  private readonly reasonListOf = new Map<string, number>();
  private readonly reasonLists: string[][] = [];
  constructor(readonly runId: string) {}

  string(value: string): number {
    let index = this.indexOf.get(value);
    if (index === undefined) this.indexOf.set(value, (index = this.values.push(value) - 1));
    return index;
  }

  reasons(reasons: string[]): number {
    const key = reasons.join('\u0000');
    let index = this.reasonListOf.get(key);
    if (index === undefined) this.reasonListOf.set(key, (index = this.reasonLists.push(Object.freeze([...reasons]) as string[]) - 1));
    return index;
  }

  valueAt(index: number): string {
    return this.values[index]!;
  }

  reasonsAt(index: number): string[] {
    return this.reasonLists[index]!;
  }
}

/** One user's list, compactly (ADR 011): product, category and reasons as run strings, and the score. */
interface CompactList {
  strings: RunStrings;
  /** Per item: product, category (NO_CATEGORY for none), reasons. */
  refs: Uint32Array;
  scores: Float64Array;
}

function compact(strings: RunStrings, items: readonly Candidate[]): CompactList {
  const refs = new Uint32Array(items.length * 3);
  const scores = new Float64Array(items.length);
  items.forEach((item, i) => {
    refs[i * 3] = strings.string(item.productId);
    refs[i * 3 + 1] = item.category === null ? NO_CATEGORY : strings.string(item.category);
    refs[i * 3 + 2] = strings.reasons(item.reasons);
    scores[i] = item.score;
  });
  return { strings, refs, scores };
}

// The reasons arrays are shared by every item that has them (frozen: nobody may change them).
function expand({ strings, refs, scores }: CompactList): Candidate[] {
  const items: Candidate[] = new Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const category = refs[i * 3 + 1]!;
    items[i] = {
      productId: strings.valueAt(refs[i * 3]!),
      score: scores[i]!,
      category: category === NO_CATEGORY ? null : strings.valueAt(category),
      reasons: strings.reasonsAt(refs[i * 3 + 2]!),
    };
  }
  return items;
}

/**
 * A run's per-user lists never change, and shoppers come back: keep the lists of the users asked
 * for most recently, at most `maxEntries` of them, compactly (a fraction of their size as objects,
 * ADR 011), so that memory holds most of a shop's active users. Each list remembers
 * its run and only answers for that run: once a new run is published, lists of the old one are
 * never served; they are replaced as their users come back, or evicted.
 */
export function createUserItemsCache({
  batchView,
  maxEntries = 100_000,
}: {
  batchView: BatchViewReader;
  maxEntries?: number;
}): UserItemsCache {
  const cache = new LruMap<string, CompactList>(maxEntries);
  let strings = new RunStrings('');
  return {
    async userItems(runId, userId) {
      const hit = cache.get(userId);
      if (hit !== undefined && hit.strings.runId === runId) return expand(hit);
      const items = await batchView.userItems(runId, userId);
      if (strings.runId !== runId) strings = new RunStrings(runId);
      cache.set(userId, compact(strings, items));
      return items;
    },
  };
}
