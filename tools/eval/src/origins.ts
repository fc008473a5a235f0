/**
 * The next basket asked month by month: origins a month apart, each with the month after it as
 * its window (a customer's first basket in those days is their case), every method trained
 * afresh on all that came before, with the settings chosen on validation. One origin's difference
 * between two close methods can be the season's (the test window runs into Christmas); whether it
 * holds across origins is what a claim needs. Every origin looks the same distance ahead, so the
 * customers asked are alike from one origin to the next, and the months do not overlap.
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

export interface AcrossOrigins {
  /** How far ahead each origin looks for a customer's next basket. */
  horizonDays: number;
  origins: OriginResult[];
  /** Every origin's cases together; a customer's cases at several origins are resampled together. */
  pooled: { cases: number; customers: number; comparisons: OriginComparison[] };
}

/** Scores each variant's top 10 on the origin's cases of one protocol. */
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
  { seed, resamples, horizonDays }: { seed: number; resamples: number; horizonDays: number },
): AcrossOrigins {
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
    horizonDays,
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

/** The name of a session variant's uplift over the same method without the session. */
export const upliftOf = (withSession: string): string => `uplift of ${withSession}`;

/**
 * What the session adds, case by case: for each pair, the variant with the session minus the same
 * method without it (named `upliftOf` the one with it). Issue 19 compares these uplifts, not levels.
 */
export function sessionUplifts(origin: OriginScores, pairs: ReadonlyArray<readonly [withSession: string, without: string]>): OriginScores {
  const minus = (a: Float64Array, b: Float64Array) => a.map((x, i) => x - b[i]!);
  const scores = new Map<string, { hit: Float64Array; ndcg: Float64Array }>();
  for (const [withSession, without] of pairs) {
    const a = origin.scores.get(withSession);
    const b = origin.scores.get(without);
    if (a === undefined || b === undefined) throw new Error(`no scores for ${a === undefined ? withSession : without} at ${origin.cutoff}`);
    scores.set(upliftOf(withSession), { hit: minus(a.hit, b.hit), ndcg: minus(a.ndcg, b.ndcg) });
  }
  return { cutoff: origin.cutoff, customers: origin.customers, scores };
}

/** The protocols asked at every origin: the next basket, and the one after a purchase session. */
export interface WindowOrigins {
  nextBasket: AcrossOrigins;
  /** lambdarec as served (re-ranked after the purchases, ADR 017) against its answer before ADR 017 and the baselines with the session; that answer against the baselines. */
  afterPurchase: { served: AcrossOrigins; mergeOnly: AcrossOrigins };
  /** What the session adds to each (with it minus without it): as served and before ADR 017, against each baseline's. */
  afterPurchaseUplift: { served: AcrossOrigins; mergeOnly: AcrossOrigins };
}

const DAY = 24 * 60 * 60 * 1000;

/**
 * The monthly origins of the test window: from its cutoff on, `days` apart, each with its month
 * (`days`) inside the window.
 */
export function testWindowOrigins(test: TimeSplit, days: number): TimeSplit[] {
  const origins: TimeSplit[] = [];
  for (let cutoff = test.cutoff; cutoff + days * DAY <= test.end; cutoff += days * DAY)
    origins.push({ name: `test origin ${cutoff}`, cutoff, end: cutoff + days * DAY });
  return origins;
}

/**
 * The monthly origins before the test window: the validation cutoff (what tuning looked at) and
 * `earlier` months before it, oldest first, each with its month; none looks past the validation
 * cutoff but the validation cutoff's own month, and none starts at or before the first basket.
 */
export function validationWindowOrigins(validation: TimeSplit, days: number, earlier: number, firstBasketAt: number): TimeSplit[] {
  const origins: TimeSplit[] = [];
  for (let k = earlier; k >= 0; k--) {
    const cutoff = validation.cutoff - k * days * DAY;
    if (cutoff > firstBasketAt) origins.push({ name: `validation origin ${cutoff}`, cutoff, end: cutoff + days * DAY });
  }
  return origins;
}
