/**
 * The public HTTP shapes this client sends and reads, declared here rather than imported from
 * @lambdarec/contracts so that the package has no runtime dependency (no zod in a shop's bundle).
 * They follow docs/design.md ("The event", "The answer", "Closing the loop"); a change there is a
 * change here.
 */

/** What a shopper did with one product. */
export type ProductEventType = 'view' | 'click' | 'add_to_cart' | 'purchase';

interface EventCommon {
  /** UUID; the idempotency key downstream. The client assigns one when it is absent. */
  eventId?: string;
  /** 1–128 characters of `[A-Za-z0-9_.:@-]`. */
  userId: string;
  /** At most 128 characters. */
  sessionId?: string;
  /** ISO-8601 with an offset; ingest uses the time of receipt when absent. */
  timestamp?: string;
}

export interface ProductEvent extends EventCommon {
  type: ProductEventType;
  productId: string;
  /** The catalog's category is used when absent. */
  category?: string;
  /** Price or amount, ≥ 0. */
  value?: number;
  /** The answer the shopper acted on (its `recommendationId`), for attribution. */
  recommendationId?: string;
  /** The product's 0-based place in that answer. */
  position?: number;
}

/** A list of recommendations was shown: the products in the order shown. */
export interface ImpressionEvent extends EventCommon {
  type: 'impression';
  recommendationId: string;
  /** 1–100 productIds. */
  productIds: string[];
}

export type LambdarecEvent = ProductEvent | ImpressionEvent;

/** An event as sent: with its eventId. */
export type SentEvent = LambdarecEvent & { eventId: string };

export interface RecommendedItem {
  productId: string;
  score: number;
  category: string | null;
  /** Fixed strings such as `batch:similar-to:p3` or `popular`. */
  reasons: string[];
  /** In an interleaved experiment: the variant that contributed the item. */
  team?: string;
}

export interface ServedExperiment {
  id: string;
  variant: string;
}

/** The answer of `GET /recommendations/:userId`. */
export interface RecommendationAnswer {
  userId: string;
  /** UUID, one per answer: impressions and clicks name it. */
  recommendationId: string;
  /** The experiment and variant that produced the answer, or null when none is running. */
  experiment: ServedExperiment | null;
  items: RecommendedItem[];
  sources: { batchRunId: string | null; batchPublishedAt: string | null; session: boolean };
  /** Parts that were missing from the answer: `session`, `batch`. */
  degraded: string[];
}

/**
 * What `trackImpression` and `trackClick` need of an answer: a storefront that renders the list on
 * its server can rebuild this much from the page. `recommendationId` is optional because a serving
 * older than the experiments release leaves it out; nothing is tracked against such an answer.
 */
export interface ShownRecommendations {
  userId: string;
  recommendationId?: string | undefined;
  items: readonly { productId: string }[];
}

export interface RecommendOptions {
  /** 1–100; serving's default is 10. */
  limit?: number;
  /** Only this category. */
  category?: string;
  /** Products to leave out. */
  exclude?: readonly string[];
  signal?: AbortSignal;
}

/** `202` from `POST /events`. */
export interface EventsAccepted {
  accepted: number;
  eventIds: string[];
}

/** One refused field, as ingest names it: the path includes the event's index. */
export interface ErrorIssue {
  path: (string | number)[];
  message: string;
}
