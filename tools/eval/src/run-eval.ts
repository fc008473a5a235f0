/**
 * One evaluation: the dataset split by time, every variant asked the same cases, the metrics
 * accumulated. Baselines and peers see only the history; lambdarec also sees the session where
 * the protocol streams one, exactly as serving would.
 */
import {
  DEFAULT_BATCH_POLICY,
  DEFAULT_MERGE_WEIGHTS,
  DEFAULT_SESSION_POLICY,
  type BatchPolicy,
  type MergeWeights,
  type SessionPolicy,
} from '@lambdarec/domain';
import { itemKnnBaseline, popularityBaseline, purchaseHistories, repeatThenKnnBaseline, type Recommender } from './baselines.js';
import { categoryFromDescription, type CleaningStats, type PurchaseLine } from './dataset.js';
import { trainLambdarec, type LambdarecModel } from './lambdarec.js';
import { MetricAccumulator } from './metrics.js';
import type { PeerRunner } from './peers.js';
import { buildCases, PROTOCOLS, type EvalCase, type ProtocolName } from './protocols.js';
import type { EvalReport, VariantResult } from './report.js';
import { defaultSplits, sample, seededRandom, splitByTime, toBaskets, type SplitData } from './split.js';

export const LAMBDAREC_BATCH = 'lambdarec batch view';
export const LAMBDAREC_SESSION = 'lambdarec batch + session';
const TOP = 20;

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

export interface EvalOptions {
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

function prepare(data: SplitData, seed: number, sampleUsers: number | undefined): SplitRun {
  let future = data.future;
  if (sampleUsers !== undefined) {
    const keep = new Set(sample([...future.keys()].sort(), sampleUsers, seededRandom(seed)));
    future = new Map([...future].filter(([customer]) => keep.has(customer)));
  }
  const sampled = { ...data, future };
  return { data: sampled, cases: new Map(PROTOCOLS.map((p) => [p, buildCases(sampled, p)])) };
}

function score(
  run: SplitRun,
  variants: ReadonlyArray<{ name: string; recommend: (c: EvalCase) => string[]; protocols?: readonly ProtocolName[] }>,
  label: string,
  options: EvalOptions,
): VariantResult[] {
  const results: VariantResult[] = [];
  const total = PROTOCOLS.reduce((sum, p) => sum + run.cases.get(p)!.length, 0);
  let done = 0;
  for (const protocol of PROTOCOLS) {
    const cases = run.cases.get(protocol)!;
    const accumulators = variants.map(() => new MetricAccumulator(10, TOP));
    for (const c of cases) {
      variants.forEach((variant, i) => {
        if (variant.protocols === undefined || variant.protocols.includes(protocol)) accumulators[i]!.add(variant.recommend(c), c.target);
      });
      if (++done % 50 === 0) options.onProgress?.(label, done / total);
    }
    variants.forEach((variant, i) => {
      const acc = accumulators[i]!;
      if (acc.n > 0) results.push({ variant: variant.name, protocol, cases: acc.n, scores: acc.means(), hitCurve: acc.hitCurve() });
    });
  }
  options.onStepDone?.(label);
  return results;
}

function lambdarecVariants(model: LambdarecModel) {
  return [
    { name: LAMBDAREC_BATCH, recommend: (c: EvalCase) => model.recommend(c.customerId, [], c.at, TOP) },
    {
      name: LAMBDAREC_SESSION,
      protocols: ['after-purchase-session', 'rest-of-basket'] as const,
      recommend: (c: EvalCase) => model.recommend(c.customerId, c.session, c.at, TOP),
    },
  ];
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

/** The settings tried by `--tune`: the batch blend and the session weights, on validation only. */
function tuningGrid(): LambdarecSettings[] {
  const grid: LambdarecSettings[] = [];
  for (const neighbourWeight of [0.1, 0.3, 0.6])
    for (const sessionSimilar of [0.2, 0.4, 0.6])
      for (const popular of [0.3, 0.5])
        for (const rebuyThreshold of [0.05, 0.1, 0.2])
          grid.push({
            batch: { ...DEFAULT_BATCH_POLICY, neighbourWeight },
            session: { ...DEFAULT_SESSION_POLICY, rebuyThreshold },
            weights: { ...DEFAULT_MERGE_WEIGHTS, sessionSimilar, popular },
          });
  return grid;
}

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
  const validation = prepare(splitByTime(baskets, splits.validation), options.seed, options.sampleUsers);
  const test = prepare(splitByTime(baskets, splits.test), options.seed, options.sampleUsers);

  const baselineVariants = (run: SplitRun): Array<{ name: string; recommend: (c: EvalCase) => string[] }> => {
    const popularity: Recommender = popularityBaseline(run.data.train);
    const knn = itemKnnBaseline(run.data.train);
    const repeat = repeatThenKnnBaseline(run.data.train, knn);
    return [
      { name: 'popularity', recommend: (c) => popularity.recommend(c.customerId, TOP) },
      { name: 'item-kNN (cosine)', recommend: (c) => knn.recommend(c.customerId, TOP) },
      { name: 'repeat + kNN', recommend: (c) => repeat.recommend(c.customerId, TOP) },
    ];
  };

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
        score(validation, lambdarecVariants(model.withPolicy(candidate.session, candidate.weights)), 'tuning (validation)', {
          seed: options.seed,
        }),
      );
      options.log?.(`tune ${describeSettings(candidate)}: mean NDCG@10 ${value.toFixed(4)}`);
      if (best === undefined || value > best.value) best = { settings: candidate, value };
    }
    settings = best!.settings;
    tuning = { settings: describeSettings(settings), scores: `mean NDCG@10 over the protocols ${best!.value.toFixed(4)}` };
  }

  const runSplit = async (run: SplitRun, label: string, peers: Array<{ name: string; recommend: (c: EvalCase) => string[] }>) => {
    const model = trainLambdarec(run.data.train, categoryOf, settings.batch, settings.session, settings.weights);
    options.onStepDone?.(
      `trained lambdarec (${label}): ${model.model.stats.items} items, ${model.model.stats.similarityPairs} similar pairs`,
    );
    return score(run, [...baselineVariants(run), ...peers, ...lambdarecVariants(model)], label, options);
  };

  let peers: Awaited<ReturnType<typeof peerRecommenders>> | undefined;
  if (options.peers !== undefined) peers = await peerRecommenders(options.peers, validation, test, options);

  const validationResults = await runSplit(validation, 'validation', []);
  const testResults = await runSplit(test, 'test', peers?.variants ?? []);
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
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
    notes: [
      'next-basket: the first invoice after the cutoff, from the history alone. after-purchase-session: that invoice streamed as purchases, the target is the one after it. rest-of-basket: the first half of that invoice streamed as add_to_cart, the target is the rest.',
      'Baselines and peers see the history only; "lambdarec batch + session" is what serving answers with the speed layer\'s session, through the same domain functions.',
      `lambdarec settings: ${describeSettings(settings)}${options.tune === true ? ' (tuned on validation)' : ' (the defaults the services run)'}.`,
      'Categories come from the last word of each product description (the dataset has none).',
    ],
  };
}
