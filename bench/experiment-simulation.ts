/**
 * The experiments bench's simulation, in process and seeded: simulated shoppers with a known
 * ground truth (@lambdarec/domain's shopper model) are shown lists from two rankers, and the
 * experiment statistics of @lambdarec/domain decide, impression by impression, which ranker is
 * better. It measures how many impressions an A/B test and an interleaved experiment need before
 * their verdict is significant and stays so, whether that verdict is the true one, and how often
 * an A/A test (both sides the same ranker) calls a difference.
 *
 * The rankers: `popular`, the shop-wide best-sellers (the products with the highest mean relevance
 * over the whole population: the best list that is the same for everyone), and a personalised
 * challenger that ranks by each shopper's true relevance plus Gaussian noise, a better but
 * imperfect model. Lists have 10 items.
 */
import {
  assignVariant,
  compareVariants,
  createShopperPopulation,
  DEFAULT_KEENNESS_SPREAD,
  interleavingPreference,
  seededRandom,
  teamDraftInterleave,
  type ExperimentVerdict,
  type InterleavingTally,
  type Shopper,
  type ShopperCatalogProduct,
  type UserTally,
} from '@lambdarec/domain';

export interface ExperimentSimulationOptions {
  /** One run per seed: its catalog, shoppers, model noise and traffic. */
  seeds: readonly number[];
  /** Shoppers in the population; an impression comes from one drawn at random, so most return. */
  shoppers: number;
  categories: number;
  productsPerCategory: number;
  listLength: number;
  /** σ of the Gaussian noise on relevance in the challenger's ranking: 0 is a perfect model. */
  challengerNoise: number;
  /** σ of the logarithm of shoppers' keenness to click: how unequal their appetites are. */
  keennessSpread: number;
  /** Impressions each experiment gets: its horizon. */
  maxImpressions: number;
  /** The verdict is read every this many impressions, as a dashboard refreshing would. */
  checkEvery: number;
  /** Of every interval. */
  confidence: number;
}

export const DEFAULT_SIMULATION: ExperimentSimulationOptions = {
  seeds: Array.from({ length: 50 }, (_, i) => i + 1),
  shoppers: 2000,
  categories: 10,
  productsPerCategory: 20,
  listLength: 10,
  // About a quarter more true CTR than popular: the size of a personalisation gain, and small enough
  // that A/B needs thousands of impressions, so that the two experiments are compared away from the
  // verdict's minimum of users.
  challengerNoise: 0.65,
  keennessSpread: DEFAULT_KEENNESS_SPREAD,
  maxImpressions: 40_000,
  checkEvery: 50,
  confidence: 0.95,
};

/** One experiment over one seed's traffic. */
export interface ExperimentRun {
  /** The verdict at the horizon. */
  verdict: ExperimentVerdict;
  /** The first checkpoint from which every verdict was this significant one, up to the horizon; undefined if it is none. */
  settledAt: number | undefined;
  /** Whether any checkpoint was significant: what a reader who stops at the first significant look would report. */
  everSignificant: boolean;
}

export interface SeedRun {
  seed: number;
  /** The truth from the shopper model: mean expected CTR of each ranker's lists over the population. */
  trueCtr: { popular: number; personal: number };
  /** The truth of the interleaved experiment: its expected preference for the challenger. */
  truePreference: number;
  /** What each experiment should conclude; the two measure different things and may, rarely, disagree. */
  trueVerdict: { ab: ExperimentVerdict; interleaving: ExperimentVerdict };
  ab: ExperimentRun;
  interleaving: ExperimentRun;
  /** Both sides `popular`: any significant verdict is a false positive. */
  abNull: ExperimentRun;
  interleavingNull: ExperimentRun;
}

interface ListItem {
  productId: string;
  category: string;
}

/** The A/B split serving makes: assignVariant over two equal weights. */
export const abVariantOf = (experimentId: string, userId: string): 0 | 1 => (assignVariant(experimentId, userId, [1, 1]) === 0 ? 0 : 1);

function syntheticCatalog(categories: number, productsPerCategory: number): ShopperCatalogProduct[] {
  return Array.from({ length: categories }, (_, c) =>
    Array.from({ length: productsPerCategory }, (_, p) => ({ productId: `c${c + 1}-p${p + 1}`, category: `category-${c + 1}` })),
  ).flat();
}

/** A standard normal draw (Box–Muller). */
function drawNormal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(random(), Number.MIN_VALUE))) * Math.cos(2 * Math.PI * random());
}

/** Reads the verdict at each checkpoint and keeps what the run needs: the final verdict, when it settled. */
function createVerdictTrail() {
  let settledAt: number | undefined;
  let last: ExperimentVerdict = 'no-difference-yet';
  let everSignificant = false;
  return {
    record(impressions: number, verdict: ExperimentVerdict) {
      if (verdict !== 'no-difference-yet') everSignificant = true;
      if (verdict === 'no-difference-yet') settledAt = undefined;
      else if (verdict !== last || settledAt === undefined) settledAt = impressions;
      last = verdict;
    },
    result: (): ExperimentRun => ({ verdict: last, settledAt, everSignificant }),
  };
}

/** Per-user tallies in arrays the statistics read directly, a user's slot found by index. */
function createTallies<T>(make: () => T) {
  const slotOf = new Map<number, T>();
  const all: T[] = [];
  return {
    of(userIndex: number): T {
      let tally = slotOf.get(userIndex);
      if (tally === undefined) {
        tally = make();
        slotOf.set(userIndex, tally);
        all.push(tally);
      }
      return tally;
    },
    all,
  };
}

type Ranker = (shopper: Shopper, shopperIndex: number) => readonly ListItem[];

function runAb(
  experimentId: string,
  shoppers: readonly Shopper[],
  rankers: readonly [Ranker, Ranker],
  random: () => number,
  options: ExperimentSimulationOptions,
) {
  const variants = [
    createTallies<UserTally>(() => ({ itemsShown: 0, clicks: 0 })),
    createTallies<UserTally>(() => ({ itemsShown: 0, clicks: 0 })),
  ];
  const trail = createVerdictTrail();
  for (let impression = 1; impression <= options.maxImpressions; impression++) {
    const index = Math.floor(random() * shoppers.length);
    const shopper = shoppers[index]!;
    const variant = abVariantOf(experimentId, shopper.id);
    const list = rankers[variant](shopper, index);
    const tally = variants[variant]!.of(index);
    tally.itemsShown += list.length;
    tally.clicks += shopper.react(list, random).clicks.length;
    if (impression % options.checkEvery === 0)
      trail.record(impression, compareVariants(variants[0]!.all, variants[1]!.all, options.confidence).verdict);
  }
  return trail.result();
}

function runInterleaving(
  shoppers: readonly Shopper[],
  rankers: readonly [Ranker, Ranker],
  random: () => number,
  options: ExperimentSimulationOptions,
) {
  const users = createTallies<InterleavingTally>(() => ({ wins: 0, losses: 0, ties: 0 }));
  const trail = createVerdictTrail();
  for (let impression = 1; impression <= options.maxImpressions; impression++) {
    const index = Math.floor(random() * shoppers.length);
    const shopper = shoppers[index]!;
    const coins = Array.from({ length: Math.ceil(options.listLength / 2) }, () => (random() < 0.5 ? 1 : 0) as 0 | 1);
    const { items: drafted } = teamDraftInterleave(
      rankers[0](shopper, index),
      rankers[1](shopper, index),
      options.listLength,
      coins,
      byProduct,
    );
    const { clicks } = shopper.react(
      drafted.map((d) => d.item),
      random,
    );
    if (clicks.length > 0) {
      let challengerClicks = 0;
      for (const position of clicks) if (drafted[position]!.team === 1) challengerClicks++;
      const baselineClicks = clicks.length - challengerClicks;
      const tally = users.of(index);
      if (challengerClicks > baselineClicks) tally.wins++;
      else if (challengerClicks < baselineClicks) tally.losses++;
      else tally.ties++;
    }
    if (impression % options.checkEvery === 0) trail.record(impression, interleavingPreference(users.all, options.confidence).verdict);
  }
  return trail.result();
}

/**
 * Every list team draft can make of two rankings, with its probability: each round's coin taken
 * both ways (a coin a draft never reads doubles a list, with half the probability each time).
 */
function everyDraft(baseline: readonly ListItem[], challenger: readonly ListItem[], length: number) {
  const rounds = Math.ceil(length / 2);
  return Array.from({ length: 2 ** rounds }, (_, pattern) => {
    const coins = Array.from({ length: rounds }, (_, round) => ((pattern >> round) & 1) as 0 | 1);
    return { drafted: teamDraftInterleave(baseline, challenger, length, coins, byProduct).items, probability: 0.5 ** rounds };
  });
}

const byProduct = (item: ListItem) => item.productId;

/**
 * The true preference of an interleaved experiment between two rankers, from the click model:
 * (P(win) − P(loss)) / P(a click) over shoppers drawn uniformly and every draft. Clicks on positions
 * are independent, so the challenger's lead in clicks has an exact distribution (convolution).
 */
function truePreference(shoppers: readonly Shopper[], rankers: readonly [Ranker, Ranker], length: number): number {
  let net = 0;
  let clicked = 0;
  shoppers.forEach((shopper, index) => {
    for (const { drafted, probability } of everyDraft(rankers[0](shopper, index), rankers[1](shopper, index), length)) {
      // lead[d + length]: P(challenger clicks − baseline clicks = d) over the positions so far.
      let lead = new Float64Array(2 * length + 1);
      lead[length] = 1;
      let noClick = 1;
      drafted.forEach(({ item, team }, position) => {
        const p = shopper.clickProbability(item, position);
        noClick *= 1 - p;
        const step = team === 1 ? 1 : -1;
        const next = new Float64Array(lead.length);
        lead.forEach((chance, d) => {
          if (chance === 0) return;
          next[d] = next[d]! + chance * (1 - p);
          next[d + step] = next[d + step]! + chance * p;
        });
        lead = next;
      });
      let win = 0;
      let loss = 0;
      for (let d = 0; d < lead.length; d++) {
        if (d > length) win += lead[d]!;
        else if (d < length) loss += lead[d]!;
      }
      net += probability * (win - loss);
      clicked += probability * (1 - noClick);
    }
  });
  return clicked > 0 ? net / clicked : 0;
}

const verdictOfTruth = (effect: number): ExperimentVerdict =>
  effect > 0 ? 'challenger-better' : effect < 0 ? 'baseline-better' : 'no-difference-yet';

/** One seed: its catalog, population and rankers, the truth, and the four experiments on their own traffic. */
export function simulateSeed(seed: number, options: ExperimentSimulationOptions): SeedRun {
  const catalog = syntheticCatalog(options.categories, options.productsPerCategory);
  const { shoppers } = createShopperPopulation({ catalog, seed, size: options.shoppers, keennessSpread: options.keennessSpread });

  const meanRelevance = new Map(catalog.map((p) => [p.productId, shoppers.reduce((sum, s) => sum + s.relevance(p), 0) / shoppers.length]));
  const popularList = [...catalog]
    .sort((a, b) => meanRelevance.get(b.productId)! - meanRelevance.get(a.productId)!)
    .slice(0, options.listLength);
  const popular: Ranker = () => popularList;

  // The challenger's model of each shopper: their true relevance plus noise, estimated once (a
  // model, not a dice roll per request) and ranked.
  const noise = seededRandom(seed * 7919 + 1);
  const personalLists = shoppers.map((shopper) =>
    catalog
      .map((product) => ({ product, estimate: shopper.relevance(product) + options.challengerNoise * drawNormal(noise) }))
      .sort((a, b) => b.estimate - a.estimate)
      .slice(0, options.listLength)
      .map(({ product }) => product),
  );
  const personal: Ranker = (_, index) => personalLists[index]!;

  // Impressions come from shoppers drawn uniformly and every list has the same length, so the
  // population CTR of a ranker is the mean of its lists' true CTRs.
  const meanCtr = (ranker: Ranker) => shoppers.reduce((sum, s, i) => sum + s.expectedCtr(ranker(s, i)), 0) / shoppers.length;
  const trueCtr = { popular: meanCtr(popular), personal: meanCtr(personal) };
  const preference = truePreference(shoppers, [popular, personal], options.listLength);

  // Each experiment has traffic of its own, as it would in a shop running one at a time.
  const traffic = (stream: number) => seededRandom(seed * 7919 + 100 + stream);
  return {
    seed,
    trueCtr,
    truePreference: preference,
    trueVerdict: { ab: verdictOfTruth(trueCtr.personal - trueCtr.popular), interleaving: verdictOfTruth(preference) },
    ab: runAb(`ab-${seed}`, shoppers, [popular, personal], traffic(1), options),
    interleaving: runInterleaving(shoppers, [popular, personal], traffic(2), options),
    abNull: runAb(`aa-${seed}`, shoppers, [popular, popular], traffic(3), options),
    interleavingNull: runInterleaving(shoppers, [popular, popular], traffic(4), options),
  };
}

export function simulateExperiments(options: ExperimentSimulationOptions, onSeed?: (run: SeedRun) => void): SeedRun[] {
  return options.seeds.map((seed) => {
    const run = simulateSeed(seed, options);
    onSeed?.(run);
    return run;
  });
}

/** The median of the impressions to a settled verdict, a run that never settled counting as more than any that did. */
export function medianImpressions(runs: readonly ExperimentRun[]): number {
  const values = runs.map((r) => r.settledAt ?? Infinity).sort((a, b) => a - b);
  if (values.length === 0) return Infinity;
  const middle = values.length / 2;
  return Number.isInteger(middle) ? (values[middle - 1]! + values[middle]!) / 2 : values[Math.floor(middle)]!;
}
