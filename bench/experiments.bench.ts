/**
 * `npm run bench:experiments`: how many impressions an A/B test and a team-draft interleaved
 * experiment need to tell a personalised ranker from the shop-wide best-sellers, on simulated
 * shoppers whose true preferences are known (experiment-simulation.ts). In process, seeded, no
 * service: the figures are the statistics', not the machine's.
 *
 * Reports the median impressions until each experiment's verdict is significant and stays so (the
 * issue's goal: interleaving needs at most a fifth of A/B's), the share of runs that reach the true
 * verdict, and the false-positive rate of A/A experiments at the horizon.
 *
 * Options: --seeds N (runs, one seed each from --first-seed), --shoppers, --noise (σ of the
 * challenger's error on relevance), --max-impressions (each experiment's horizon), --check-every
 * (impressions between two readings of the verdict), --quick (a small slice that checks the bench
 * still runs; its figures are not to be quoted).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SIMULATION, medianImpressions, simulateExperiments, type ExperimentRun, type SeedRun } from './experiment-simulation.js';
import { writeBenchReport, type BenchFigure } from './report.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    'first-seed': { type: 'string', default: '1' },
    shoppers: { type: 'string' },
    noise: { type: 'string' },
    'keenness-spread': { type: 'string' },
    'max-impressions': { type: 'string' },
    'check-every': { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const numberOption = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));
const runs = numberOption(values.seeds, quick ? 3 : DEFAULT_SIMULATION.seeds.length);
const firstSeed = Number(values['first-seed']);
const options = {
  ...DEFAULT_SIMULATION,
  seeds: Array.from({ length: runs }, (_, i) => firstSeed + i),
  shoppers: numberOption(values.shoppers, quick ? 500 : DEFAULT_SIMULATION.shoppers),
  challengerNoise: numberOption(values.noise, DEFAULT_SIMULATION.challengerNoise),
  keennessSpread: numberOption(values['keenness-spread'], DEFAULT_SIMULATION.keennessSpread),
  maxImpressions: numberOption(values['max-impressions'], quick ? 6000 : DEFAULT_SIMULATION.maxImpressions),
  checkEvery: numberOption(values['check-every'], DEFAULT_SIMULATION.checkEvery),
};

say(
  `experiments bench: ${runs} seeded runs, ${options.shoppers} shoppers, ${options.categories} × ${options.productsPerCategory} products, ` +
    `lists of ${options.listLength}, challenger noise σ ${options.challengerNoise}, ${options.maxImpressions} impressions per experiment, ` +
    `verdict read every ${options.checkEvery}`,
);
const started = performance.now();
const results = simulateExperiments(options, (run) =>
  say(
    `seed ${String(run.seed).padStart(3)}  true CTR ${percent(run.trueCtr.popular)} → ${percent(run.trueCtr.personal)}, preference ${run.truePreference.toFixed(3)}  ` +
      `A/B ${describe(run.ab)}  interleaving ${describe(run.interleaving)}  A/A ${run.abNull.verdict}, ${run.interleavingNull.verdict}`,
  ),
);
say(`simulated in ${((performance.now() - started) / 1000).toFixed(1)} s`);

function percent(share: number): string {
  return `${(100 * share).toFixed(2)} %`;
}

function describe(run: ExperimentRun): string {
  return run.settledAt === undefined ? `unsettled (${run.verdict})` : `${run.verdict} from ${run.settledAt}`;
}

const shareWhere = (holds: (run: SeedRun) => boolean) => results.filter(holds).length / results.length;

/** The largest number of false positives out of `trials` at rate `rate` that is not surprising: the binomial's 99th percentile. */
function binomialUpperCount(trials: number, rate: number): number {
  let cumulative = 0;
  let probability = (1 - rate) ** trials;
  for (let k = 0; k <= trials; k++) {
    cumulative += probability;
    if (cumulative >= 0.99) return k;
    probability *= ((trials - k) / (k + 1)) * (rate / (1 - rate));
  }
  return trials;
}

const horizon = options.maxImpressions;
const abMedian = medianImpressions(results.map((r) => r.ab));
const interleavingMedian = medianImpressions(results.map((r) => r.interleaving));
// A median past the horizon is only known to be larger than it: reported as the horizon, and said so.
const finite = (impressions: number) => Math.min(impressions, horizon);
const ratio = finite(interleavingMedian) / finite(abMedian);
const alpha = 1 - options.confidence;
const falsePositiveLimit = binomialUpperCount(results.length, alpha);
const falsePositives = (pick: (run: SeedRun) => ExperimentRun) => results.filter((r) => pick(r).verdict !== 'no-difference-yet').length;
const abFalsePositives = falsePositives((r) => r.abNull);
const interleavingFalsePositives = falsePositives((r) => r.interleavingNull);
const meanOf = (pick: (run: SeedRun) => number) => results.reduce((sum, r) => sum + pick(r), 0) / results.length;
const meanPopularCtr = meanOf((r) => r.trueCtr.popular);
const meanPersonalCtr = meanOf((r) => r.trueCtr.personal);

const figures: BenchFigure[] = [
  {
    label: 'true CTR of the personalised challenger (shopper model)',
    value: 100 * meanPersonalCtr,
    unit: '%',
    baseline: { label: 'popular', value: 100 * meanPopularCtr, unit: '%' },
    ratio: meanPersonalCtr / meanPopularCtr,
  },
  { label: 'A/B: median impressions to a settled verdict', value: finite(abMedian), unit: 'impressions' },
  {
    label: 'interleaving: median impressions to a settled verdict',
    value: finite(interleavingMedian),
    unit: 'impressions',
    baseline: { label: 'A/B', value: finite(abMedian), unit: 'impressions' },
    ratio,
    goal: '≤ 0.2× A/B’s impressions',
    met: ratio <= 0.2,
  },
  { label: 'A/B: runs that reached the true verdict', value: 100 * shareWhere((r) => r.ab.verdict === r.trueVerdict.ab), unit: '%' },
  {
    label: 'interleaving: runs that reached the true verdict',
    value: 100 * shareWhere((r) => r.interleaving.verdict === r.trueVerdict.interleaving),
    unit: '%',
  },
  {
    label: `A/A (A/B): false positives at the horizon`,
    value: (100 * abFalsePositives) / results.length,
    unit: '%',
    goal: `${Math.round(1000 * alpha) / 10} % expected; ≤ ${falsePositiveLimit} of ${results.length} runs`,
    met: abFalsePositives <= falsePositiveLimit,
  },
  {
    label: `A/A (interleaving): false positives at the horizon`,
    value: (100 * interleavingFalsePositives) / results.length,
    unit: '%',
    goal: `${Math.round(1000 * alpha) / 10} % expected; ≤ ${falsePositiveLimit} of ${results.length} runs`,
    met: interleavingFalsePositives <= falsePositiveLimit,
  },
];

const everSignificant = (pick: (run: SeedRun) => ExperimentRun) => results.filter((r) => pick(r).everSignificant).length;
const unsettled = (pick: (run: SeedRun) => ExperimentRun) => results.filter((r) => pick(r).settledAt === undefined).length;
const notes = [
  `A run's impressions to a settled verdict: the first reading of the verdict (every ${options.checkEvery} impressions) from which it was significant and the same up to the horizon of ${horizon}. ` +
    `Runs that never settled count as more than any that did: A/B ${unsettled((r) => r.ab)}, interleaving ${unsettled((r) => r.interleaving)} of ${results.length}.`,
  ...(abMedian > horizon || interleavingMedian > horizon
    ? [`A median is past the horizon and reported as the horizon: the ratio is a bound, not a measurement; raise --max-impressions.`]
    : []),
  `Ratio of the medians; the median of the per-run ratios (unsettled runs at the horizon) is ${median(results.map((r) => finite(r.interleaving.settledAt ?? Infinity) / finite(r.ab.settledAt ?? Infinity))).toFixed(2)}.`,
  `True verdicts come from the shopper model: A/B the sign of the true CTR difference, interleaving the sign of the exact expected preference over every draft. ` +
    `They disagree in ${results.filter((r) => r.trueVerdict.ab !== r.trueVerdict.interleaving).length} of ${results.length} runs.`,
  `Peeking: A/A runs significant at any reading up to the horizon: A/B ${everSignificant((r) => r.abNull)}, ` +
    `interleaving ${everSignificant((r) => r.interleavingNull)} of ${results.length}: ` +
    `the 5 % holds for one reading at a fixed horizon, not for stopping at the first significant one.`,
  `Seeds ${options.seeds[0]}–${options.seeds[options.seeds.length - 1]}; each experiment has traffic of its own; shoppers are drawn uniformly per impression and keep their A/B variant.`,
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle) ? (sorted[middle - 1]! + sorted[middle]!) / 2 : sorted[Math.floor(middle)]!;
}

say('');
say(
  writeBenchReport({
    name: 'experiments',
    setup:
      `${results.length} seeded runs, each: ${options.shoppers} simulated shoppers (@lambdarec/domain's shopper model), ${options.categories} categories × ${options.productsPerCategory} products, ` +
      `lists of ${options.listLength}, shoppers' appetite to click log-normal with σ ${options.keennessSpread}; popular (best-sellers) against a personalised ranker (true relevance + noise σ ${options.challengerNoise}); ` +
      `A/B (users split by hash), team-draft interleaving and A/A of each, ${horizon} impressions apiece, verdicts at ${100 * options.confidence} %.`,
    figures,
    notes,
  }),
);
