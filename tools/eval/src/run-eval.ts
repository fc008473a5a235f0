/**
 * One evaluation: the dataset split by time, every variant asked the same cases, the metrics
 * accumulated. Baselines and peers see only the history; lambdarec also sees the session where
 * the protocol streams one, exactly as serving would.
 */
import {
  DEFAULT_BATCH_POLICY,
  DEFAULT_MERGE_WEIGHTS,
  DEFAULT_SESSION_POLICY,
  diversify,
  type BatchPolicy,
  type MergeWeights,
  type SessionPolicy,
} from '@lambdarec/domain';
import type { NextBasketRecommender } from './basket-history.js';
import { itemKnnBaseline, popularityBaseline, purchaseHistories, repeatThenKnnBaseline, type Recommender } from './baselines.js';
import {
  createBeyondAccuracy,
  intraListDiversity,
  mostPopular,
  POPULAR_FRACTION,
  type BeyondAccuracyAccumulator,
} from './beyond-accuracy.js';
import { pairedBootstrap } from './bootstrap.js';
import { categoryFromDescription, type CleaningStats, type PurchaseLine } from './dataset.js';
import { trainLambdarec, type LambdarecModel } from './lambdarec.js';
import { MetricAccumulator, scoreList } from './metrics.js';
import { personalPopularityBaseline } from './p-pop.js';
import type { PeerRunner } from './peers.js';
import {
  compareOrigins,
  scoreOrigin,
  sessionUplifts,
  testWindowOrigins,
  upliftOf,
  validationWindowOrigins,
  type WindowOrigins,
} from './origins.js';
import { buildCases, PROTOCOLS, type EvalCase, type ProtocolName } from './protocols.js';
import type { DiversityCurve, EvalReport, PairedComparison, VariantResult } from './report.js';
import { coordinateSearch, type SearchResult, type SearchStage } from './coordinate-search.js';
import { buildTifuVectors, tifuHistories, tifuKnnRecommender, type TifuKnnSettings, type TifuVectors } from './tifu-knn.js';
import { buildUpcfIndex, upcfRecommender, type UpcfSettings } from './up-cf.js';
import { defaultSplits, sample, seededRandom, splitByTime, toBaskets, type SplitData, type TimeSplit } from './split.js';

export const LAMBDAREC_BATCH = 'lambdarec batch view';
/** As served: after a purchase, the list ranked again with the session's purchases (ADR 017). */
export const LAMBDAREC_SESSION = 'lambdarec batch + session';
/** The answer before ADR 017, kept as a row to show what re-ranking after a purchase adds: the purchases merged in only. */
export const LAMBDAREC_MERGE_ONLY = 'lambdarec batch + session, merge only (before ADR 017)';
export const P_POP = 'P-Pop';
export const TIFU_KNN = 'TIFU-KNN';
export const UP_CF = 'UP-CF@r';
/** The suffix of a baseline's variant with the session folded in as the latest basket. */
export const WITH_SESSION = ' + session';
const TOP = 20;
const SESSION_PROTOCOLS = ['after-purchase-session', 'rest-of-basket'] as const;
const BOOTSTRAP_RESAMPLES = 1000;
/** How far apart the monthly origins are, and how far ahead each looks for the next basket. */
export const ORIGIN_DAYS = 30;
/** How many monthly origins before the validation cutoff are asked, besides the cutoff itself. */
export const EARLIER_VALIDATION_ORIGINS = 3;
/** The diversity λ at which the batch view's answer is re-ranked for the accuracy/diversity curve. */
export const DIVERSITY_CURVE_LAMBDAS: readonly number[] = [0, 0.1, 0.2, 0.3, 0.5, 0.7];
export const POPULARITY_CURVE_LAMBDAS: readonly number[] = [0, 0.1, 0.2, 0.3, 0.4, 0.5];

export interface LambdarecSettings {
  batch: BatchPolicy;
  session: SessionPolicy;
  weights: MergeWeights;
}

export const DEFAULT_SETTINGS: LambdarecSettings = {
  batch: DEFAULT_BATCH_POLICY,
  session: DEFAULT_SESSION_POLICY,
  weights: DEFAULT_MERGE_WEIGHTS,
};

/** Where a baseline's search starts and the stages it takes (see coordinate-search.ts). */
export interface BaselineSearch<S> {
  start: S;
  stages: ReadonlyArray<SearchStage<S>>;
}

export interface EvalOptions {
  /** The paper baselines' searches on validation. @defaultValue DEFAULT_TIFU_SEARCH and DEFAULT_UPCF_SEARCH */
  searches?: { tifu: BaselineSearch<TifuKnnSettings>; upcf: BaselineSearch<UpcfSettings> };
  seed: number;
  /** At most this many customers per split (seeded sample); undefined: all. */
  sampleUsers?: number | undefined;
  testDays?: number;
  validationDays?: number;
  /** Grid-search lambdarec's settings on the validation window and report the best on test. */
  tune?: boolean;
  peers?: PeerRunner | undefined;
  onProgress?: (label: string, fraction: number) => void;
  onStepDone?: (label: string) => void;
  log?: (line: string) => void;
}

interface SplitRun {
  data: SplitData;
  cases: Map<ProtocolName, EvalCase[]>;
}

interface Variant {
  name: string;
  recommend: (c: EvalCase) => string[];
  protocols?: readonly ProtocolName[];
}

/** Each variant's HR@10 and NDCG@10 per case, in the protocol's case order (one case per customer). */
type CaseScores = Map<string, { hit: Float64Array; ndcg: Float64Array }>;
const caseKey = (protocol: ProtocolName, variant: string) => `${protocol}\u0000${variant}`;

/** What `score` measures besides the means: per-case scores and the lists' beyond-accuracy figures. */
interface ScoreDetail {
  categoryOf: (productId: string) => string | null;
  perCase: CaseScores;
}

function prepare(data: SplitData, seed: number, sampleUsers: number | undefined): SplitRun {
  let future = data.future;
  if (sampleUsers !== undefined) {
    const keep = new Set(sample([...future.keys()].sort(), sampleUsers, seededRandom(seed)));
    future = new Map([...future].filter(([customer]) => keep.has(customer)));
  }
  const sampled = { ...data, future };
  return { data: sampled, cases: new Map(PROTOCOLS.map((p) => [p, buildCases(sampled, p)])) };
}

/** Training baskets holding each product (what popularity and novelty are measured by). */
function basketsHoldingOf(train: SplitRun['data']['train']): Map<string, number> {
  const holding = new Map<string, number>();
  for (const basket of train) for (const item of new Set(basket.items)) holding.set(item, (holding.get(item) ?? 0) + 1);
  return holding;
}

function score(run: SplitRun, variants: readonly Variant[], label: string, options: EvalOptions, detail?: ScoreDetail): VariantResult[] {
  const results: VariantResult[] = [];
  const total = PROTOCOLS.reduce((sum, p) => sum + run.cases.get(p)!.length, 0);
  let done = 0;
  const basketsHolding = detail === undefined ? new Map<string, number>() : basketsHoldingOf(run.data.train);
  for (const protocol of PROTOCOLS) {
    const cases = run.cases.get(protocol)!;
    const runs = variants.map((variant) => variant.protocols === undefined || variant.protocols.includes(protocol));
    const accumulators = variants.map(() => new MetricAccumulator(10, TOP));
    const beyond: Array<BeyondAccuracyAccumulator | undefined> = variants.map((_, i) =>
      detail !== undefined && runs[i]
        ? createBeyondAccuracy({ basketsHolding, trainBaskets: run.data.train.length, categoryOf: detail.categoryOf })
        : undefined,
    );
    const perCase = variants.map(() => ({ hit: new Float64Array(cases.length), ndcg: new Float64Array(cases.length) }));
    cases.forEach((c, caseIndex) => {
      variants.forEach((variant, i) => {
        if (!runs[i]) return;
        const ranked = variant.recommend(c);
        accumulators[i]!.add(ranked, c.target);
        if (detail !== undefined) {
          beyond[i]!.add(ranked);
          const scores = scoreList(ranked, c.target, 10);
          perCase[i]!.hit[caseIndex] = scores.hit;
          perCase[i]!.ndcg[caseIndex] = scores.ndcg;
        }
      });
      if (++done % 50 === 0) options.onProgress?.(label, done / total);
    });
    variants.forEach((variant, i) => {
      const acc = accumulators[i]!;
      if (acc.n === 0) return;
      results.push({
        variant: variant.name,
        protocol,
        cases: acc.n,
        scores: acc.means(),
        hitCurve: acc.hitCurve(),
        ...(beyond[i] === undefined ? {} : { beyond: beyond[i].result() }),
      });
      detail?.perCase.set(caseKey(protocol, variant.name), perCase[i]!);
    });
  }
  options.onStepDone?.(label);
  return results;
}

/**
 * A next-basket baseline asked with the session folded in: the session's products (in the order
 * they came) as the customer's latest basket. Carted products are left out of the answer, as
 * serving leaves them out: they are in the cart already; bought ones stay (customers re-buy).
 */
export function askWithSession(recommender: NextBasketRecommender, c: EvalCase, k: number): string[] {
  const latest = [...new Set(c.session.map((e) => e.productId))];
  const carted = new Set(c.session.filter((e) => e.type === 'add_to_cart').map((e) => e.productId));
  return recommender
    .recommend(c.customerId, k + carted.size, latest)
    .filter((item) => !carted.has(item))
    .slice(0, k);
}

/** The paper baselines as variants: history only on every protocol, and with the session folded in. */
function nextBasketVariants(recommenders: ReadonlyArray<readonly [string, NextBasketRecommender]>): Variant[] {
  return [
    ...recommenders.map(([name, r]) => ({ name, recommend: (c: EvalCase) => r.recommend(c.customerId, TOP) })),
    ...recommenders.map(([name, r]) => ({
      name: `${name}${WITH_SESSION}`,
      protocols: SESSION_PROTOCOLS,
      recommend: (c: EvalCase) => askWithSession(r, c, TOP),
    })),
  ];
}

/**
 * TIFU-KNN's grid, small enough for two cores: the paper's values for its datasets sit inside
 * it (k 300–900, m 3–7, r_b 0.9, r_g 0.6–0.7, α 0.2–0.9).
 */
/**
 * TIFU-KNN's search, from the paper's settings for TaFeng (k 300, m 7, r_b 0.9, r_g 0.7, α 0.7):
 * first the vectors' grouping and decays, then the neighbours and the blend. The ranges cover
 * the values the paper reports for its datasets and go past them where validation asked for it.
 */
export const DEFAULT_TIFU_SEARCH: BaselineSearch<TifuKnnSettings> = {
  start: { groupSize: 7, withinGroupDecay: 0.9, acrossGroupDecay: 0.7, neighbours: 300, ownWeight: 0.7, distance: 'euclidean' },
  stages: [
    { groupSize: [2, 3, 5, 7], acrossGroupDecay: [0.2, 0.4, 0.6, 0.8] },
    { withinGroupDecay: [0.8, 0.9, 1] },
    { distance: ['euclidean', 'cosine'], neighbours: [20, 50, 100, 300, 600], ownWeight: [0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9] },
  ],
};

/** UP-CF@r's search: r and q first, then the asymmetry α. */
export const DEFAULT_UPCF_SEARCH: BaselineSearch<UpcfSettings> = {
  start: { recency: 5, asymmetry: 0.5, locality: 5 },
  stages: [{ recency: [1, 3, 5, 10, Infinity], locality: [1, 2, 3, 4, 5, 10] }, { asymmetry: [0.25, 0.5, 0.75, 0.9] }],
};

export const describeTifu = (s: TifuKnnSettings) =>
  `k ${s.neighbours}, m ${s.groupSize}, r_b ${s.withinGroupDecay}, r_g ${s.acrossGroupDecay}, α ${s.ownWeight}, ${s.distance}`;
export const describeUpcf = (s: UpcfSettings) => `r ${Number.isFinite(s.recency) ? s.recency : '∞'}, α ${s.asymmetry}, q ${s.locality}`;

/** NDCG@10 of a recommender on the validation window's next baskets, from the history alone. */
function validationNdcg(validation: SplitRun, recommender: NextBasketRecommender): number {
  const acc = new MetricAccumulator(10, TOP);
  for (const c of validation.cases.get('next-basket')!) acc.add(recommender.recommend(c.customerId, TOP), c.target);
  return acc.means().ndcg;
}

/** Coordinate search of TIFU-KNN and UP-CF@r on the validation window only (NDCG@10, next basket). */
function tuneNextBasketBaselines(
  validation: SplitRun,
  options: EvalOptions,
): { tifu: SearchResult<TifuKnnSettings>; upcf: SearchResult<UpcfSettings> } {
  const tifuSearch = options.searches?.tifu ?? DEFAULT_TIFU_SEARCH;
  const upcfSearch = options.searches?.upcf ?? DEFAULT_UPCF_SEARCH;
  const histories = tifuHistories(validation.data.train);
  // Vectors per (m, r_b, r_g), kept: they remember each customer's nearest neighbours.
  const vectorsBySettings = new Map<string, TifuVectors>();
  let tried = 0;
  const tifu = coordinateSearch(tifuSearch.start, tifuSearch.stages, (settings) => {
    const key = `${settings.groupSize}/${settings.withinGroupDecay}/${settings.acrossGroupDecay}`;
    let vectors = vectorsBySettings.get(key);
    if (vectors === undefined) vectorsBySettings.set(key, (vectors = buildTifuVectors(histories, settings)));
    const ndcg = validationNdcg(validation, tifuKnnRecommender(vectors, settings));
    options.log?.(`tune ${TIFU_KNN} ${describeTifu(settings)}: validation NDCG@10 ${ndcg.toFixed(4)}`);
    options.onProgress?.('tuning TIFU-KNN (validation)', Math.min(0.99, ++tried / 90));
    return ndcg;
  });
  vectorsBySettings.clear();
  options.onStepDone?.('tuning TIFU-KNN (validation)');

  const index = buildUpcfIndex(validation.data.train);
  tried = 0;
  const upcf = coordinateSearch(upcfSearch.start, upcfSearch.stages, (settings) => {
    const ndcg = validationNdcg(validation, upcfRecommender(index, settings));
    options.log?.(`tune ${UP_CF} ${describeUpcf(settings)}: validation NDCG@10 ${ndcg.toFixed(4)}`);
    options.onProgress?.('tuning UP-CF@r (validation)', Math.min(0.99, ++tried / 34));
    return ndcg;
  });
  options.onStepDone?.('tuning UP-CF@r (validation)');
  return { tifu, upcf };
}

/**
 * Paired 95 % intervals (bootstrap over customers) on the test window: lambdarec's batch view
 * against every history-only baseline on each protocol, lambdarec with its session against every
 * baseline with the session folded in, and each method's session uplift.
 */
function pairedComparisons(results: readonly VariantResult[], perCase: CaseScores, seed: number): PairedComparison[] {
  const comparisons: PairedComparison[] = [];
  const compare = (protocol: ProtocolName, a: string, b: string, kind: PairedComparison['kind']) => {
    const x = perCase.get(caseKey(protocol, a));
    const y = perCase.get(caseKey(protocol, b));
    if (x === undefined || y === undefined) return;
    const options = { seed, resamples: BOOTSTRAP_RESAMPLES };
    comparisons.push({
      protocol,
      kind,
      a,
      b,
      cases: x.hit.length,
      hit: pairedBootstrap(x.hit, y.hit, options),
      ndcg: pairedBootstrap(x.ndcg, y.ndcg, options),
    });
  };
  const variants = [...new Set(results.map((r) => r.variant))];
  const lambdarec = new Set([LAMBDAREC_BATCH, LAMBDAREC_SESSION, LAMBDAREC_MERGE_ONLY]);
  const historyOnly = variants.filter((v) => !lambdarec.has(v) && !v.endsWith(WITH_SESSION));
  const folded = variants.filter((v) => !lambdarec.has(v) && v.endsWith(WITH_SESSION));
  for (const protocol of PROTOCOLS) for (const baseline of historyOnly) compare(protocol, LAMBDAREC_BATCH, baseline, 'difference');
  for (const protocol of SESSION_PROTOCOLS) {
    for (const withSession of [LAMBDAREC_SESSION, LAMBDAREC_MERGE_ONLY]) {
      for (const baseline of folded) compare(protocol, withSession, baseline, 'difference');
      compare(protocol, withSession, LAMBDAREC_BATCH, 'session uplift');
    }
    for (const baseline of folded) compare(protocol, baseline, baseline.slice(0, -WITH_SESSION.length), 'session uplift');
  }
  return comparisons;
}

/** lambdarec as served, and (unless tuning, whose objective leaves it out) the answer before ADR 017. */
function lambdarecVariants(model: LambdarecModel, { mergeOnly = true } = {}) {
  return [
    { name: LAMBDAREC_BATCH, recommend: (c: EvalCase) => model.recommend(c.customerId, [], c.at, TOP) },
    {
      name: LAMBDAREC_SESSION,
      protocols: ['after-purchase-session', 'rest-of-basket'] as const,
      recommend: (c: EvalCase) => model.recommend(c.customerId, c.session, c.at, TOP),
    },
    ...(mergeOnly
      ? [
          {
            name: LAMBDAREC_MERGE_ONLY,
            protocols: ['after-purchase-session'] as const,
            recommend: (c: EvalCase) => model.recommendMergeOnly(c.customerId, c.session, c.at, TOP).map((item) => item.productId),
          },
        ]
      : []),
  ];
}

/**
 * Accuracy against diversity: the batch view's top 20 for each next basket of the run, re-ranked
 * by MMR at each λ and its top 10 scored. `by` category spreads the lists over categories; `by`
 * popularity gives the training window's most popular 5 % one category and the rest none, so
 * that MMR holds back popular products alone (what the popular share costs in accuracy). The
 * merge runs once per case and the re-ranks reuse its answer: one more pass of the batch view.
 */
function diversityCurve(
  run: SplitRun,
  model: LambdarecModel,
  categoryOf: (productId: string) => string | null,
  by: DiversityCurve['by'],
): DiversityCurve {
  const cases = run.cases.get('next-basket')!;
  const lambdas = by === 'category' ? DIVERSITY_CURVE_LAMBDAS : POPULARITY_CURVE_LAMBDAS;
  const popular = mostPopular(basketsHoldingOf(run.data.train), POPULAR_FRACTION);
  const accuracy = lambdas.map(() => new MetricAccumulator(10, TOP));
  const diversity = lambdas.map(() => ({ sum: 0, lists: 0 }));
  const popularity = lambdas.map(() => ({ popular: 0, items: 0 }));
  for (const c of cases) {
    const served = model.recommendItems(c.customerId, [], c.at, TOP);
    const answer =
      by === 'category' ? served : served.map((item) => ({ ...item, category: popular.has(item.productId) ? 'popular' : null }));
    lambdas.forEach((lambda, i) => {
      const ranked = diversify(answer, lambda, TOP).map((item) => item.productId);
      accuracy[i]!.add(ranked, c.target);
      for (const productId of ranked.slice(0, 10)) {
        popularity[i]!.items++;
        if (popular.has(productId)) popularity[i]!.popular++;
      }
      // As the tables measure it: lists whose products have no category to compare are left out.
      const ild = intraListDiversity(ranked.slice(0, 10), categoryOf);
      if (ild !== undefined) {
        diversity[i]!.sum += ild;
        diversity[i]!.lists++;
      }
    });
  }
  return {
    by,
    variant: LAMBDAREC_BATCH,
    protocol: 'next-basket',
    cases: cases.length,
    candidates: TOP,
    points: lambdas.map((lambda, i) => {
      const { hit, ndcg } = accuracy[i]!.means();
      const { sum, lists } = diversity[i]!;
      const { popular: shown, items } = popularity[i]!;
      return { lambda, hit, ndcg, diversity: lists === 0 ? 0 : sum / lists, popularShare: items === 0 ? 0 : shown / items };
    }),
  };
}

/** Peers (optional): each model's parameters picked by NDCG@10 on next-basket in the validation window. */
const PEER_GRID: ReadonlyArray<{ name: string; model: 'bm25' | 'als'; params: Record<string, number> }> = [
  ...[20, 100, 1000].map((k) => ({ name: 'implicit BM25 item-item', model: 'bm25' as const, params: { k } })),
  ...[64, 128].flatMap((factors) =>
    [1, 10].map((alpha) => ({
      name: 'implicit ALS',
      model: 'als' as const,
      params: { factors, alpha, regularization: 0.01, iterations: 15, seed: 42 },
    })),
  ),
];

async function peerRecommenders(runner: PeerRunner, validation: SplitRun, test: SplitRun, options: EvalOptions) {
  const trainOf = (run: SplitRun) =>
    [...purchaseHistories(run.data.train)].flatMap(([user, items]) => [...items].map(([item, { count }]) => [user, item, count] as const));
  const chosen = new Map<string, { params: Record<string, number>; ndcg: number }>();
  for (const candidate of PEER_GRID) {
    const lists = await runner.recommend({
      model: candidate.model,
      params: candidate.params,
      train: trainOf(validation),
      users: [...validation.data.future.keys()],
    });
    const acc = new MetricAccumulator(10, TOP);
    for (const c of validation.cases.get('next-basket')!) acc.add(lists.get(c.customerId) ?? [], c.target);
    const ndcg = acc.means().ndcg;
    options.log?.(`peer ${candidate.name} ${JSON.stringify(candidate.params)}: validation NDCG@10 ${ndcg.toFixed(3)}`);
    const best = chosen.get(candidate.name);
    if (best === undefined || ndcg > best.ndcg) chosen.set(candidate.name, { params: candidate.params, ndcg });
  }
  const variants = [];
  const described: Record<string, string> = {};
  for (const [name, { params }] of chosen) {
    const model = PEER_GRID.find((c) => c.name === name)!.model;
    const lists = await runner.recommend({ model, params, train: trainOf(test), users: [...test.data.future.keys()] });
    variants.push({ name, recommend: (c: EvalCase) => lists.get(c.customerId) ?? [] });
    described[name] = JSON.stringify(params);
  }
  return { variants, described };
}

/**
 * The settings tried by `--tune`, on validation only: item-kNN's weight beside the customers'
 * blend, and the session's weights, each around the services' defaults (which the grid holds, so
 * that tuning can keep them; the blend's α and re-buy share weight each run trains itself).
 */
export function tuningGrid(): LambdarecSettings[] {
  const grid: LambdarecSettings[] = [];
  for (const neighbourWeight of [0, 0.1, 0.3])
    for (const sessionSimilar of [0.2, 0.4, 0.6])
      for (const popular of [0.1, 0.3])
        for (const rebuyThreshold of [0.05, 0.1, 0.2])
          grid.push({
            batch: { ...DEFAULT_BATCH_POLICY, neighbourWeight },
            session: { ...DEFAULT_SESSION_POLICY, rebuyThreshold },
            weights: { ...DEFAULT_MERGE_WEIGHTS, sessionSimilar, popular },
          });
  return grid;
}

/** The weights the batch run trained on the last weeks of its own training window (ADR 016). */
const describeBlend = (blend: LambdarecModel['model']['blend']) =>
  blend === undefined
    ? "lambdarec's run trained no blend (no customer bought in its held-out weeks): the policy's weights served."
    : `lambdarec's run trained its blend on the last weeks of the test split's training window: α ${blend.ownRebuyWeight}, re-buy share weight ${blend.rebuyRateWeight} (NDCG@10 ${blend.ndcg.toFixed(3)} on ${blend.samples} customers' held-out baskets).`;

const describeSettings = (s: LambdarecSettings) =>
  `neighbourWeight ${s.batch.neighbourWeight}, sessionSimilar ${s.weights.sessionSimilar}, rebought ${s.weights.rebought}, popular ${s.weights.popular}, rebuyThreshold ${s.session.rebuyThreshold}`;

/** Validation objective: mean NDCG@10 over the three protocols (lambdarec as served). */
function objective(results: readonly VariantResult[]): number {
  const served = PROTOCOLS.map(
    (p) =>
      results.find((r) => r.protocol === p && r.variant === (p === 'next-basket' ? LAMBDAREC_BATCH : LAMBDAREC_SESSION))?.scores.ndcg ?? 0,
  );
  return served.reduce((a, b) => a + b, 0) / served.length;
}

export async function runEval(
  lines: readonly PurchaseLine[],
  stats: CleaningStats,
  file: string,
  options: EvalOptions,
): Promise<EvalReport> {
  const categories = new Map<string, string | null>();
  for (const line of lines) if (!categories.has(line.productId)) categories.set(line.productId, categoryFromDescription(line.description));
  const categoryOf = (productId: string) => categories.get(productId) ?? null;

  const baskets = toBaskets(lines);
  const splits = defaultSplits(baskets, options.testDays, options.validationDays);
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const validation = prepare(splitByTime(baskets, splits.validation), options.seed, options.sampleUsers);
  const test = prepare(splitByTime(baskets, splits.test), options.seed, options.sampleUsers);

  const tuningStarted = performance.now();
  const searched = tuneNextBasketBaselines(validation, options);
  const chosen = { tifu: searched.tifu.best, upcf: searched.upcf.best };
  const baselineTuningSeconds = (performance.now() - tuningStarted) / 1000;
  options.log?.(
    `baselines chosen on validation in ${baselineTuningSeconds.toFixed(1)} s: ${TIFU_KNN} ${describeTifu(chosen.tifu)}; ${UP_CF} ${describeUpcf(chosen.upcf)}`,
  );

  const baselineVariants = (run: SplitRun, paper: ReturnType<typeof paperBaselines>): Variant[] => {
    const popularity: Recommender = popularityBaseline(run.data.train);
    const knn = itemKnnBaseline(run.data.train);
    const repeat = repeatThenKnnBaseline(run.data.train, knn);
    return [
      { name: 'popularity', recommend: (c) => popularity.recommend(c.customerId, TOP) },
      { name: 'item-kNN (cosine)', recommend: (c) => knn.recommend(c.customerId, TOP) },
      { name: 'repeat + kNN', recommend: (c) => repeat.recommend(c.customerId, TOP) },
      ...nextBasketVariants(paper),
    ];
  };
  const paperBaselines = (train: SplitData['train']): Array<readonly [string, NextBasketRecommender]> => [
    [P_POP, personalPopularityBaseline(train)],
    [TIFU_KNN, tifuKnnRecommender(buildTifuVectors(tifuHistories(train), chosen.tifu), chosen.tifu)],
    [UP_CF, upcfRecommender(buildUpcfIndex(train), chosen.upcf)],
  ];

  let settings = DEFAULT_SETTINGS;
  let tuning: EvalReport['tuning'];
  if (options.tune === true) {
    let best: { settings: LambdarecSettings; value: number } | undefined;
    const models = new Map<number, LambdarecModel>();
    for (const candidate of tuningGrid()) {
      let model = models.get(candidate.batch.neighbourWeight);
      if (model === undefined) {
        model = trainLambdarec(validation.data.train, categoryOf, candidate.batch, candidate.session, candidate.weights);
        models.set(candidate.batch.neighbourWeight, model);
      }
      const value = objective(
        score(
          validation,
          lambdarecVariants(model.withPolicy(candidate.session, candidate.weights), { mergeOnly: false }),
          'tuning (validation)',
          {
            seed: options.seed,
          },
        ),
      );
      options.log?.(`tune ${describeSettings(candidate)}: mean NDCG@10 ${value.toFixed(4)}`);
      if (best === undefined || value > best.value) best = { settings: candidate, value };
    }
    settings = best!.settings;
    tuning = { settings: describeSettings(settings), scores: `mean NDCG@10 over the protocols ${best!.value.toFixed(4)}` };
  }

  /**
   * lambdarec and the paper baselines trained on all before `run`'s cutoff, with the settings
   * chosen. The splits' own are kept (`keep`): the month-by-month origins of each window start or
   * end at its split's cutoff, whose training is the same, and the models are not trained twice.
   */
  const trainedAtCutoff = new Map<number, { model: LambdarecModel; paper: ReturnType<typeof paperBaselines> }>();
  const trained = (run: SplitRun, { keep = false } = {}) => {
    const { cutoff } = run.data.split;
    const found = trainedAtCutoff.get(cutoff);
    if (found !== undefined) return found;
    const made = {
      model: trainLambdarec(run.data.train, categoryOf, settings.batch, settings.session, settings.weights),
      paper: paperBaselines(run.data.train),
    };
    if (keep) trainedAtCutoff.set(cutoff, made);
    return made;
  };

  /**
   * The next basket and the one after a purchase session, asked month by month from `origins`:
   * lambdarec and the paper baselines trained afresh on all before each origin (settings as
   * chosen on validation), compared at each and over all of them.
   */
  const askOrigins = (window: string, origins: readonly TimeSplit[]): WindowOrigins => {
    const started = performance.now();
    const baselines = [P_POP, TIFU_KNN, UP_CF];
    const withSession = baselines.map((name) => `${name}${WITH_SESSION}`);
    const next = [];
    const after = [];
    for (const origin of origins) {
      const run = prepare(splitByTime(baskets, origin), options.seed, options.sampleUsers);
      const { model, paper } = trained(run);
      const lambdarec = lambdarecVariants(model);
      const historyOnly = paper.map(([name, r]) => ({ name, recommend: (c: EvalCase) => r.recommend(c.customerId, TOP) }));
      next.push(
        scoreOrigin(iso(origin.cutoff), run.cases.get('next-basket')!, [
          lambdarec.find((v) => v.name === LAMBDAREC_BATCH)!,
          ...historyOnly,
        ]),
      );
      // Every method with the session and without it: the uplifts are what issue 19's goal compares.
      after.push(
        scoreOrigin(iso(origin.cutoff), run.cases.get('after-purchase-session')!, [
          ...lambdarec,
          ...historyOnly,
          ...paper.map(([name, r]) => ({ name: `${name}${WITH_SESSION}`, recommend: (c: EvalCase) => askWithSession(r, c, TOP) })),
        ]),
      );
    }
    const uplifts = after.map((origin) =>
      sessionUplifts(origin, [
        [LAMBDAREC_SESSION, LAMBDAREC_BATCH],
        [LAMBDAREC_MERGE_ONLY, LAMBDAREC_BATCH],
        ...baselines.map((name) => [`${name}${WITH_SESSION}`, name] as const),
      ]),
    );
    const compare = { seed: options.seed, resamples: BOOTSTRAP_RESAMPLES, horizonDays: ORIGIN_DAYS };
    const compared: WindowOrigins = {
      nextBasket: compareOrigins(next, LAMBDAREC_BATCH, baselines, compare),
      afterPurchase: {
        served: compareOrigins(after, LAMBDAREC_SESSION, [LAMBDAREC_MERGE_ONLY, ...withSession], compare),
        mergeOnly: compareOrigins(after, LAMBDAREC_MERGE_ONLY, withSession, compare),
      },
      afterPurchaseUplift: {
        served: compareOrigins(uplifts, upliftOf(LAMBDAREC_SESSION), [LAMBDAREC_MERGE_ONLY, ...withSession].map(upliftOf), compare),
        mergeOnly: compareOrigins(uplifts, upliftOf(LAMBDAREC_MERGE_ONLY), withSession.map(upliftOf), compare),
      },
    };
    options.onStepDone?.(
      `monthly origins (${window}): ${next.map((o) => o.cutoff).join(', ')} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return compared;
  };

  const runSplit = async (run: SplitRun, label: string, peers: Variant[], perCase: CaseScores) => {
    const { model, paper } = trained(run, { keep: true });
    options.onStepDone?.(
      `trained lambdarec (${label}): ${model.model.stats.items} items, ${model.model.stats.similarityPairs} similar pairs`,
    );
    const results = score(run, [...baselineVariants(run, paper), ...peers, ...lambdarecVariants(model)], label, options, {
      categoryOf,
      perCase,
    });
    return { results, model };
  };

  let peers: Awaited<ReturnType<typeof peerRecommenders>> | undefined;
  if (options.peers !== undefined) peers = await peerRecommenders(options.peers, validation, test, options);

  const { results: validationResults, model: validationModel } = await runSplit(validation, 'validation', [], new Map());
  const testCases: CaseScores = new Map();
  const { results: testResults, model: testModel } = await runSplit(test, 'test', peers?.variants ?? [], testCases);
  const comparisons = pairedComparisons(testResults, testCases, options.seed);
  const curveStarted = performance.now();
  const curve = diversityCurve(test, testModel, categoryOf, 'category');
  const popularityCurve = diversityCurve(test, testModel, categoryOf, 'popularity');
  const validationCurve = { ...diversityCurve(validation, validationModel, categoryOf, 'category'), window: 'validation' as const };
  options.onStepDone?.(
    `diversity and popularity curves (test and validation, next-basket): ${curve.cases} test cases at λ ${DIVERSITY_CURVE_LAMBDAS.join(', ')} and ${POPULARITY_CURVE_LAMBDAS.join(', ')} in ${((performance.now() - curveStarted) / 1000).toFixed(1)} s`,
  );
  const origins = {
    test: askOrigins('test window', testWindowOrigins(splits.test, ORIGIN_DAYS)),
    validation: askOrigins(
      'before the test window',
      validationWindowOrigins(splits.validation, ORIGIN_DAYS, EARLIER_VALIDATION_ORIGINS, baskets[0]!.at),
    ),
  };
  return {
    dataset: { file, ...stats },
    seed: options.seed,
    sampleUsers: options.sampleUsers ?? null,
    splits: [validation, test].map((run) => ({
      name: run.data.split.name,
      cutoff: iso(run.data.split.cutoff),
      end: iso(run.data.split.end),
      trainBaskets: run.data.train.length,
      customers: run.data.future.size,
    })),
    test: testResults,
    validation: validationResults,
    tuning,
    peers: peers?.described,
    baselines: {
      [TIFU_KNN]: `${describeTifu(chosen.tifu)} (validation NDCG@10 ${searched.tifu.value.toFixed(4)}, ${searched.tifu.evaluated} settings tried)`,
      [UP_CF]: `${describeUpcf(chosen.upcf)} (validation NDCG@10 ${searched.upcf.value.toFixed(4)}, ${searched.upcf.evaluated} settings tried)`,
    },
    baselineTuningSeconds,
    comparisons,
    bootstrap: { resamples: BOOTSTRAP_RESAMPLES, seed: options.seed, confidence: 0.95 },
    diversityCurve: curve,
    validationDiversityCurve: validationCurve,
    popularityCurve,
    origins,
    notes: [
      'next-basket: the first invoice after the cutoff, from the history alone. after-purchase-session: that invoice streamed as purchases, the target is the one after it. rest-of-basket: the first half of that invoice streamed as add_to_cart, the target is the rest.',
      'Baselines and peers see the history only; "lambdarec batch + session" is what serving answers with the speed layer\'s session, through the same domain functions.',
      `lambdarec settings: ${describeSettings(settings)}${options.tune === true ? ' (tuned on validation)' : ' (the defaults the services run)'}.`,
      describeBlend(testModel.model.blend),
      'Categories come from the last word of each product description (the dataset has none).',
      `${P_POP}, ${TIFU_KNN} and ${UP_CF} are written from their papers (tools/eval/src/p-pop.ts, tifu-knn.ts, up-cf.ts); TIFU-KNN's and UP-CF@r's settings are chosen by a coordinate search on the validation window's next baskets (NDCG@10). "+ session" folds the session's products in as the customer's latest basket (whole after a purchase session, partial for the rest of a basket) and leaves carted products out of the answer.`,
      "Beyond accuracy, over the top 10 of every case: coverage = distinct products recommended / products in the training window; popular share = share of recommended products among the 5 % held by most training baskets; diversity = mean share of pairs in a list with different categories; novelty = mean −log2 of a product's share of training baskets.",
      `Intervals: paired 95 % percentile intervals of the mean difference, ${BOOTSTRAP_RESAMPLES} bootstrap resamples of the customers (seed ${options.seed}), the same resamples for every comparison on a protocol.`,
    ],
  };
}
