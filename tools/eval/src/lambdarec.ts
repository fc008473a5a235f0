/**
 * lambdarec as the services run it, on files: the batch model of the batch layer, the session
 * profile of the speed layer and serving's merge, all from the shared domain library.
 */
import { randomUUID } from 'node:crypto';
import {
  buildSessionProfile,
  computeBatchModel,
  decideRepurchase,
  utcDay,
  EMPTY_SESSION_PROFILE,
  mergeRecommendations,
  SESSION_SEED_PRODUCTS,
  type BatchModel,
  type BatchPolicy,
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
  /** The same answer with each item's score and category (what a re-rank after the merge works on). */
  recommendItems(customerId: string, session: readonly SessionEvent[], at: number, k: number): RecommendedItem[];
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
  return answering(computeBatchModel(interactions, asOf, batchPolicy), categoryOf, sessionPolicy, weights);
}

function answering(
  model: BatchModel,
  categoryOf: (productId: string) => string | null,
  sessionPolicy: SessionPolicy,
  weights: MergeWeights | undefined,
): LambdarecModel {
  const answer: LambdarecModel = {
    model,
    withPolicy: (otherPolicy, otherWeights) => answering(model, categoryOf, otherPolicy, otherWeights),
    recommend: (customerId, session, at, k) => answer.recommendItems(customerId, session, at, k).map((item) => item.productId),
    recommendItems(customerId, session, at, k) {
      const signals: SessionSignal[] = session.map((e) => ({
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
        personal: model.perUser.get(customerId) ?? [],
        similarToRecent,
        popular: model.popular,
        session: profile,
        catalog: new Map(),
        limit: k,
        policy: sessionPolicy,
        weights,
      });
    },
  };
  return answer;
}
