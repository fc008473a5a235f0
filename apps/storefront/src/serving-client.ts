import {
  ERROR_CODES,
  LrecError,
  recommendationsAnswerSchema,
  similarItemsAnswerSchema,
  type SimilarItemsAnswer,
} from '@lambdarec/contracts';
import type { z } from 'zod';

/**
 * Serving's answer as the storefront takes it: a serving from before the experiments release
 * sends no recommendationId and no experiment (during a rolling upgrade, or an older deployment);
 * its lists are shown all the same, and the page then logs no impression of them.
 */
const servedRecommendationsSchema = recommendationsAnswerSchema.partial({ recommendationId: true, experiment: true });
export type ServedRecommendations = z.output<typeof servedRecommendationsSchema>;

/** Serving's two read routes, as the storefront server calls them. */
export interface ServingClient {
  recommendations(userId: string, options: { limit: number; exclude?: readonly string[] }): Promise<ServedRecommendations>;
  similar(productId: string, limit: number): Promise<SimilarItemsAnswer>;
}

export interface ServingClientOptions {
  /** Serving's base URL without a trailing slash (SERVING_URL). */
  baseUrl: string;
  /** A request to serving gives up after this long. */
  timeoutMs: number;
  /** @defaultValue globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}

/**
 * Reads from serving over HTTP. Any failure (down, slow, an answer outside the contract) is one
 * retriable LREC_STORE_UNAVAILABLE error, with the original as its cause: the page shows the shop
 * without that panel rather than failing.
 */
export function createServingClient({ baseUrl, timeoutMs, fetch = globalThis.fetch }: ServingClientOptions): ServingClient {
  async function get<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
    try {
      const res = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`serving answered ${res.status} to GET ${path}`);
      return schema.parse(await res.json());
    } catch (err) {
      throw new LrecError(ERROR_CODES.STORE_UNAVAILABLE, `serving could not answer GET ${path}`, {
        statusCode: 503,
        retriable: true,
        cause: err,
      });
    }
  }

  return {
    recommendations(userId, { limit, exclude = [] }) {
      const query = new URLSearchParams({ limit: String(limit) });
      if (exclude.length > 0) query.set('exclude', exclude.join(','));
      return get(`/recommendations/${encodeURIComponent(userId)}?${query}`, servedRecommendationsSchema);
    },
    similar(productId, limit) {
      return get(`/items/${encodeURIComponent(productId)}/similar?limit=${limit}`, similarItemsAnswerSchema);
    },
  };
}
