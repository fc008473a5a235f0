import { mergeRecommendations, type Candidate, type CatalogFacts, type MergeInput } from '../src/merge.js';
import { EMPTY_SESSION_PROFILE, type SessionProfile } from '../src/session.js';

/** Shared by the merge's tests: candidates, a session, an input with overrides, and what the merge answers. */
export const buildCandidate = (productId: string, score: number, overrides: Partial<Candidate> = {}): Candidate => ({
  productId,
  score,
  category: null,
  reasons: [`batch:similar-to:seed-of-${productId}`],
  ...overrides,
});

export const buildSession = (overrides: Partial<SessionProfile> = {}): SessionProfile => ({
  ...EMPTY_SESSION_PROFILE,
  ...overrides,
});

export const buildInput = (overrides: Partial<MergeInput> = {}): MergeInput => ({
  personal: [],
  similarToRecent: new Map(),
  popular: [],
  session: buildSession(),
  catalog: new Map(),
  limit: 10,
  policy: { categoryBoost: 0.3 },
  ...overrides,
});

export const catalog = (entries: Record<string, Partial<CatalogFacts>>): Map<string, CatalogFacts> =>
  new Map(Object.entries(entries).map(([id, facts]) => [id, { category: null, inStock: true, ...facts }]));

export const ids = (input: MergeInput) => mergeRecommendations(input).map((item) => item.productId);
export const itemOf = (input: MergeInput, productId: string) => mergeRecommendations(input).find((item) => item.productId === productId);
