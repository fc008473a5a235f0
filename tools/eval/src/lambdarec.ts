/**
 * lambdarec as the services run it, on files: the batch model of the batch layer, the session
 * profile of the speed layer and serving's merge, all from the shared domain library.
 */
import { randomUUID } from 'node:crypto';
import {
  buildSessionProfile,
  computeBatchRun,
  groupByUser,
  withPurchases,
  decideRepurchase,
  utcDay,
  DEFAULT_MERGE_WEIGHTS,
  EMPTY_SESSION_PROFILE,
  mergeRecommendations,
  SESSION_SEED_PRODUCTS,
  type BatchModel,
  type BatchPolicy,
  type BatchRun,
  type Candidate,
  type Interaction,
  type MergeWeights,
  type SessionPolicy,
  type SessionSignal,
} from '@lambdarec/domain';
import type { RecommendedItem } from '@lambdarec/contracts';
import type { SessionEvent } from './protocols.js';
import type { Basket } from './split.js';

/**
 * The archive as the batch layer reads it: one purchase event per product line of an invoice,
 * aggregated per (customer, product, type) with its count, latest time and the days it was bought
 * on, as the run's SQL does.
 */
export function toInteractions(train: readonly Basket[], categoryOf: (productId: string) => string | null): Interaction[] {
  const byPair = new Map<string, Interaction>();
  for (const basket of train) {
    for (const productId of basket.items) {
      const key = `${basket.customerId}\u0000${productId}`;
      const found = byPair.get(key);
      if (found === undefined) {
        byPair.set(key, {
          userId: basket.customerId,
          productId,
          type: 'purchase',
          count: 1,
          lastAt: basket.at,
          category: categoryOf(productId),
          purchaseDays: [utcDay(basket.at)],
        });
      } else {
        found.count++;
        found.lastAt = Math.max(found.lastAt, basket.at);
        const days = found.purchaseDays as number[];
        if (!days.includes(utcDay(basket.at))) days.push(utcDay(basket.at));
      }
    }
  }
  for (const row of byPair.values()) (row.purchaseDays as number[]).sort((a, b) => a - b);
  return [...byPair.values()];
}

export interface LambdarecModel {
  model: BatchModel;
  /** The same trained model answering with other session-side settings (tuning needs no retraining). */
  withPolicy(sessionPolicy: SessionPolicy, weights?: MergeWeights): LambdarecModel;
  /** Recommendations as serving answers them, for a customer with this session at time `at`. */
  recommend(customerId: string, session: readonly SessionEvent[], at: number, k: number): string[];
  /**
   * The same answer with each item's score and category (what a re-rank after the merge works on).
   * With purchases in the session, as serving answers since ADR 017: they are folded into the
   * customer's history and their list is ranked again against the run (their re-buy vector gains
   * the basket, and their nearest customers are searched again with it); the purchases then only
   * suppress, as DESIGN says for products rarely re-bought (a kept staple still says why it stays);
   * views and carts boost as before.
   */
  recommendItems(customerId: string, session: readonly SessionEvent[], at: number, k: number): RecommendedItem[];
  /** The answer before ADR 017: the run's list as it is, the purchases merged in by the session's rules. */
  recommendMergeOnly(customerId: string, session: readonly SessionEvent[], at: number, k: number): RecommendedItem[];
}

export function trainLambdarec(
  train: readonly Basket[],
  categoryOf: (productId: string) => string | null,
  batchPolicy: BatchPolicy,
  sessionPolicy: SessionPolicy,
  weights?: MergeWeights,
): LambdarecModel {
  const interactions = toInteractions(train, categoryOf);
  // The run anchors decay at the newest event it read.
  const asOf = train.reduce((max, b) => Math.max(max, b.at), 0);
  // Grouped again only when a re-rank asks (the run grouped them for itself and let them go).
  let histories: Map<string, readonly Interaction[]> | undefined;
  const historyOf = (customerId: string) =>
    (histories ??= new Map(groupByUser(interactions).map(({ userId, rows }) => [userId, rows]))).get(customerId) ?? [];
  return answering(computeBatchRun(interactions, asOf, batchPolicy), historyOf, categoryOf, sessionPolicy, weights);
}

function answering(
  run: BatchRun,
  historyOf: (customerId: string) => readonly Interaction[],
  categoryOf: (productId: string) => string | null,
  sessionPolicy: SessionPolicy,
  weights: MergeWeights | undefined,
): LambdarecModel {
  const { model } = run;
  const answer: LambdarecModel = {
    model,
    withPolicy: (otherPolicy, otherWeights) => answering(run, historyOf, categoryOf, otherPolicy, otherWeights),
    recommend: (customerId, session, at, k) => answer.recommendItems(customerId, session, at, k).map((item) => item.productId),
    recommendItems(customerId, session, at, k) {
      const purchases = session.filter((e) => e.type === 'purchase');
      if (purchases.length === 0) return answer.recommendMergeOnly(customerId, session, at, k);
      const history = withPurchases(
        customerId,
        historyOf(customerId),
        purchases.map((e) => ({ productId: e.productId, at: e.at, category: categoryOf(e.productId) })),
      );
      // Ranked at the request's time, as serving does: the wait since each purchase is what "due" reads.
      return answerWith(run.rankHistory(customerId, history, at), customerId, session, at, k, { purchasesOnlySuppress: true });
    },
    recommendMergeOnly: (customerId, session, at, k) => answerWith(model.perUser.get(customerId) ?? [], customerId, session, at, k),
  };
  /** Serving's merge of a personal list with the session; `purchasesOnlySuppress`: the list was ranked after them. */
  function answerWith(
    personal: readonly Candidate[],
    customerId: string,
    session: readonly SessionEvent[],
    at: number,
    k: number,
    { purchasesOnlySuppress = false } = {},
  ): RecommendedItem[] {
    // A re-ranked list already holds what the purchases say; their events then move no boosts.
    const boosting = purchasesOnlySuppress ? session.filter((e) => e.type !== 'purchase') : session;
    const signals: SessionSignal[] = boosting.map((e) => ({
      eventId: randomUUID(),
      userId: customerId,
      type: e.type,
      productId: e.productId,
      category: categoryOf(e.productId),
      at: e.at,
    }));
    const purchases = new Map<string, number>();
    for (const e of session) if (e.type === 'purchase') purchases.set(e.productId, Math.max(purchases.get(e.productId) ?? 0, e.at));
    const repurchase = (productId: string) => {
      const category = categoryOf(productId);
      return decideRepurchase(
        {
          product: model.repurchase.products.get(productId),
          category: category === null ? undefined : model.repurchase.categories.get(category),
        },
        sessionPolicy,
      );
    };
    const profile =
      session.length === 0 ? EMPTY_SESSION_PROFILE : buildSessionProfile(signals, purchases, at, sessionPolicy, categoryOf, repurchase);
    const similarToRecent = new Map<string, Candidate[]>();
    for (const seed of profile.recentProducts.slice(0, SESSION_SEED_PRODUCTS)) {
      const similar = model.similar.get(seed);
      if (similar !== undefined) similarToRecent.set(seed, similar);
    }
    return mergeRecommendations({
      personal,
      similarToRecent,
      popular: model.popular,
      session: profile,
      catalog: new Map(),
      limit: k,
      policy: sessionPolicy,
      // Nor does a kept staple's re-buy share count twice (the re-ranked list weighed it): it
      // keeps its reason, at no weight.
      weights: purchasesOnlySuppress ? { ...(weights ?? DEFAULT_MERGE_WEIGHTS), rebought: 0 } : weights,
    });
  }
  return answer;
}
