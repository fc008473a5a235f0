import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MERGE_WEIGHTS,
  mergeRecommendations,
  sessionNeighbours,
  type Candidate,
  type CatalogFacts,
  type MergeInput,
} from './merge.js';
import { byName } from './order.js';
import { reboughtReason } from './repurchase.js';
import { seededRandom } from './seeded-random.js';
import { EMPTY_SESSION_PROFILE, type SessionProfile } from './session.js';

/**
 * The merge's definition, written plainly: every candidate of every source goes into one pool
 * (scores added, popular fills taking the better of score and fill, reasons united in order of
 * arrival), then everything is filtered, boosted, sorted and cut. mergeRecommendations skips work
 * (shared reasons arrays, popular products that cannot make the cut); it must answer exactly this.
 */
function definitionOfMerge(input: MergeInput): ReturnType<typeof mergeRecommendations> {
  const weights = input.weights ?? DEFAULT_MERGE_WEIGHTS;
  const pool = new Map<string, Candidate>();
  const entry = (productId: string, category: string | null, reasons: readonly string[]) => {
    const existing = pool.get(productId) ?? { productId, score: 0, category, reasons: [] };
    pool.set(productId, existing);
    existing.category ??= category;
    for (const reason of reasons) if (!existing.reasons.includes(reason)) existing.reasons.push(reason);
    return existing;
  };
  const top = (list: readonly Candidate[]) => Math.max(0, ...list.map((c) => c.score));
  for (const c of input.personal)
    entry(c.productId, c.category, c.reasons).score += top(input.personal) > 0 ? c.score / top(input.personal) : 0;
  // The session's neighbours are computed as the merge computes them: not what is under test here.
  const neighbours = sessionNeighbours(input);
  const neighbourTop = Math.max(0, ...neighbours.map((n) => n.score));
  for (const n of neighbours)
    entry(n.productId, n.category, n.reasons).score += neighbourTop > 0 ? weights.sessionSimilar * (n.score / neighbourTop) : 0;
  for (const [productId, decision] of input.session.rebought)
    entry(productId, null, [reboughtReason(decision.basis)]).score += weights.rebought * decision.rate;
  const lists = [input.popular];
  const categories = new Set(input.category === undefined ? [] : [input.category]);
  for (const [category, boost] of input.session.categoryBoosts) if (boost > 0) categories.add(category);
  for (const category of categories) if (input.popularByCategory !== undefined) lists.push(input.popularByCategory.get(category) ?? []);
  for (const list of lists) {
    for (const c of list) {
      const e = entry(c.productId, c.category, ['popular']);
      e.score = Math.max(e.score, top(list) > 0 ? weights.popular * (c.score / top(list)) : 0);
    }
  }
  const excluded = new Set(input.exclude ?? []);
  const round = (value: number) => Math.round(value * 1e4) / 1e4;
  return [...pool.values()]
    .filter((c) => !excluded.has(c.productId) && !input.session.suppressed.has(c.productId) && !input.session.inCart.has(c.productId))
    .filter((c) => input.catalog.get(c.productId)?.inStock !== false)
    .map((c) => ({ c, category: input.catalog.get(c.productId)?.category ?? c.category }))
    .filter(({ category }) => input.category === undefined || category === input.category)
    .map(({ c, category }) => {
      const boost = category === null ? undefined : input.session.categoryBoosts.get(category);
      const boosted = boost !== undefined && boost > 0 && input.policy.categoryBoost > 0;
      return {
        productId: c.productId,
        score: round(boosted ? c.score * (1 + input.policy.categoryBoost * boost) : c.score),
        category,
        reasons: boosted ? [...c.reasons, `session:category-boost:${category}`] : [...c.reasons],
      };
    })
    .sort((a, b) => b.score - a.score || byName(a.productId, b.productId))
    .slice(0, Math.max(0, input.limit));
}

/** A random shop's merge input: overlapping lists, ties, sold-out and unknown products, sessions or none. */
function randomInput(random: () => number): MergeInput {
  const products = 20 + Math.floor(random() * 200);
  const categories = ['a', 'b', 'c', 'd'];
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const product = () => `p${Math.floor(random() * products)}`;
  // Coarse scores make ties (and so the name order) matter.
  const score = () => (random() < 0.3 ? Math.ceil(random() * 4) : random() * 10);
  const list = (n: number, reasons: () => string[]) => {
    const seen = new Set<string>();
    const items: Candidate[] = [];
    for (let i = 0; i < n; i++) {
      const id = product();
      if (seen.has(id)) continue;
      seen.add(id);
      items.push({ productId: id, score: score(), category: random() < 0.1 ? null : pick(categories), reasons: reasons() });
    }
    return items.sort((x, y) => y.score - x.score || byName(x.productId, y.productId));
  };
  const withSession = random() < 0.5;
  const session: SessionProfile = withSession
    ? {
        ...EMPTY_SESSION_PROFILE,
        categoryBoosts: new Map(categories.filter(() => random() < 0.4).map((c) => [c, random() < 0.2 ? 0 : random()])),
        productInterest: new Map(Array.from({ length: 3 }, () => [product(), random()])),
        suppressed: new Set(Array.from({ length: Math.floor(random() * 3) }, product)),
        inCart: new Set(Array.from({ length: Math.floor(random() * 3) }, product)),
        rebought: new Map(
          Array.from({ length: Math.floor(random() * 2) }, () => [
            product(),
            { keep: true as const, rate: random(), basis: pick(['product', 'category'] as const) },
          ]),
        ),
      }
    : EMPTY_SESSION_PROFILE;
  const catalog = new Map<string, CatalogFacts>();
  for (let i = 0; i < products; i++)
    if (random() < 0.85) catalog.set(`p${i}`, { category: random() < 0.05 ? null : pick(categories), inStock: random() < 0.9 });
  return {
    personal:
      random() < 0.2
        ? []
        : list(Math.floor(random() * 60), () => (random() < 0.5 ? ['batch:bought-before'] : [`batch:similar-to:${product()}`])),
    similarToRecent: withSession
      ? new Map(
          [...session.productInterest.keys()].map((seed) => [seed, list(Math.floor(random() * 15), () => [`batch:similar-to:${seed}`])]),
        )
      : new Map(),
    popular: list(Math.floor(random() * 120), () => ['popular']),
    // Absent, as for a caller without category lists: then the session's boosts and a cut popular list meet.
    popularByCategory:
      random() < 0.3
        ? undefined
        : new Map(categories.map((c) => [c, list(Math.floor(random() * 30), () => ['popular']).map((item) => ({ ...item, category: c }))])),
    // Popular fills equal to normalised personal scores: ties at the cut, decided by name.
    weights: random() < 0.5 ? { ...DEFAULT_MERGE_WEIGHTS, popular: 1 } : undefined,
    session,
    catalog,
    limit: pick([0, 1, 5, 10, 10, 10, 20]),
    category: random() < 0.25 ? pick(categories) : undefined,
    exclude: random() < 0.3 ? Array.from({ length: 3 }, product) : [],
    policy: { categoryBoost: pick([0, 0.3, 1]) },
  };
}

describe('mergeRecommendations', () => {
  it('answers exactly what the plain definition of the merge answers, on 3,000 random inputs', () => {
    const random = seededRandom(20261128);
    for (let i = 0; i < 3000; i++) {
      const input = randomInput(random);
      expect(mergeRecommendations(input), `input ${i}`).toEqual(definitionOfMerge(input));
    }
  });
});
