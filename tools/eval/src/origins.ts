/**
 * A window's cases asked again from other origins: its cutoff moved by a month at a time (on into
 * the test window, back from the validation cutoff), every method trained afresh on all that came
 * before each, with the settings chosen on validation. One origin's difference between two close
 * methods can be the season's (the test window runs into Christmas); whether it holds across
 * origins is what a claim needs.
 */
import type { TimeSplit } from './split.js';
import { clusteredPairedBootstrap, pairedBootstrap, type Interval } from './bootstrap.js';
import { scoreList } from './metrics.js';
import type { EvalCase } from './protocols.js';

/** Each variant's HR@10 and NDCG@10 per case at one origin, and each case's customer. */
export interface OriginScores {
  /** When the training history ends and the next baskets are looked for (ISO day). */
  cutoff: string;
  customers: readonly string[];
  scores: ReadonlyMap<string, { hit: Float64Array; ndcg: Float64Array }>;
}

export interface OriginVariant {
  name: string;
  recommend: (c: EvalCase) => string[];
}

/** `a − b` at one origin, or over all of them. */
export interface OriginComparison {
  a: string;
  b: string;
  hit: Interval;
  ndcg: Interval;
}

export interface OriginResult {
  cutoff: string;
  cases: number;
  means: Array<{ variant: string; hit: number; ndcg: number }>;
  comparisons: OriginComparison[];
}

export interface OriginsComparison {
  stepDays: number;
  origins: OriginResult[];
  /** Every origin's cases together; a customer's cases at several origins are resampled together. */
  pooled: { cases: number; customers: number; comparisons: OriginComparison[] };
}

/** Scores each variant's top 10 on the origin's next-basket cases. */
export function scoreOrigin(cutoff: string, cases: readonly EvalCase[], variants: readonly OriginVariant[]): OriginScores {
  const scores = new Map<string, { hit: Float64Array; ndcg: Float64Array }>();
  for (const variant of variants) {
    const hit = new Float64Array(cases.length);
    const ndcg = new Float64Array(cases.length);
    cases.forEach((c, i) => {
      const scored = scoreList(variant.recommend(c), c.target, 10);
      hit[i] = scored.hit;
      ndcg[i] = scored.ndcg;
    });
    scores.set(variant.name, { hit, ndcg });
  }
  return { cutoff, customers: cases.map((c) => c.customerId), scores };
}

const mean = (values: Float64Array) => values.reduce((sum, x) => sum + x, 0) / values.length;

/**
 * `a` against each of `baselines` at every origin (paired bootstrap over its customers) and over
 * all origins pooled (clustered by customer). Origins without cases are left out.
 */
export function compareOrigins(
  origins: readonly OriginScores[],
  a: string,
  baselines: readonly string[],
  { seed, resamples, stepDays }: { seed: number; resamples: number; stepDays: number },
): OriginsComparison {
  const asked = origins.filter((origin) => origin.customers.length > 0);
  const options = { seed, resamples };
  const of = (origin: OriginScores, variant: string) => {
    const found = origin.scores.get(variant);
    if (found === undefined) throw new Error(`no scores for ${variant} at ${origin.cutoff}`);
    return found;
  };
  const results = asked.map((origin): OriginResult => ({
    cutoff: origin.cutoff,
    cases: origin.customers.length,
    means: [a, ...baselines].map((variant) => ({ variant, hit: mean(of(origin, variant).hit), ndcg: mean(of(origin, variant).ndcg) })),
    comparisons: baselines.map((b) => ({
      a,
      b,
      hit: pairedBootstrap(of(origin, a).hit, of(origin, b).hit, options),
      ndcg: pairedBootstrap(of(origin, a).ndcg, of(origin, b).ndcg, options),
    })),
  }));
  const numbers = new Map<string, number>();
  const customers = Int32Array.from(
    asked.flatMap((origin) => origin.customers),
    (customer) => numbers.get(customer) ?? numbers.set(customer, numbers.size).get(customer)!,
  );
  const pooled = (variant: string, metric: 'hit' | 'ndcg') => {
    const values = new Float64Array(customers.length);
    let at = 0;
    for (const origin of asked) {
      values.set(of(origin, variant)[metric], at);
      at += origin.customers.length;
    }
    return values;
  };
  return {
    stepDays,
    origins: results,
    pooled: {
      cases: customers.length,
      customers: numbers.size,
      comparisons:
        customers.length === 0
          ? []
          : baselines.map((b) => ({
              a,
              b,
              hit: clusteredPairedBootstrap(pooled(a, 'hit'), pooled(b, 'hit'), customers, options),
              ndcg: clusteredPairedBootstrap(pooled(a, 'ndcg'), pooled(b, 'ndcg'), customers, options),
            })),
    },
  };
}

/** The protocols asked at every origin: the next basket, and the one after a purchase session. */
export interface WindowOrigins {
  nextBasket: OriginsComparison;
  /** lambdarec as served against the baselines with the session, and ADR 017's re-rank against all of them. */
  afterPurchase: { served: OriginsComparison; reranked: OriginsComparison };
}

const DAY = 24 * 60 * 60 * 1000;

/** Cutoffs after the test window's own, `stepDays` apart, each with at least `stepDays` still to come. */
export function laterCutoffs(test: TimeSplit, stepDays: number): number[] {
  const cutoffs: number[] = [];
  for (let cutoff = test.cutoff + stepDays * DAY; cutoff + stepDays * DAY <= test.end; cutoff += stepDays * DAY) cutoffs.push(cutoff);
  return cutoffs;
}

/**
 * `count` cutoffs before the validation window's own, `stepDays` apart, oldest first: each is
 * asked up to the validation window's end, so none sees the test window; none after the first
 * basket of the history.
 */
export function earlierCutoffs(validation: TimeSplit, stepDays: number, count: number, firstBasketAt: number): number[] {
  const cutoffs: number[] = [];
  for (let k = count; k >= 1; k--) {
    const cutoff = validation.cutoff - k * stepDays * DAY;
    if (cutoff > firstBasketAt) cutoffs.push(cutoff);
  }
  return cutoffs;
}
