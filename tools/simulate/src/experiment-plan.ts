/**
 * What the experiment mode of `npm run simulate` plans, without I/O: the experiment it creates, the
 * order in which shoppers come back, what they browse before a recommendation, and the events their
 * reaction to a list becomes. Randomness is passed in, so a seed replays the plan.
 */
import {
  EXPERIMENT_MODES,
  MAX_VARIANTS,
  STRATEGIES,
  type ExperimentDefinition,
  type ExperimentMode,
  type Strategy,
} from '@lambdarec/contracts';
import type { ShopperReaction } from '@lambdarec/domain';
import type { Random } from './traffic.js';

/** An experiment's design as `--create` gives it: everything of `PUT /experiments/:id` but the status. */
export type ExperimentDesign = Omit<ExperimentDefinition, 'status'>;

/**
 * `ab:popular,lambda` → an A/B experiment of two equally weighted variants, the baseline first, each
 * named after its strategy (a strategy named twice, an A/A test, gets `-2`, `-3`, … on the later ones).
 */
export function parseExperimentDesign(text: string): ExperimentDesign {
  const usage = `--create takes <mode>:<baseline>,<challenger>[,…] with mode ${EXPERIMENT_MODES.join(' or ')} and strategies ${STRATEGIES.join(', ')} (for example ab:popular,lambda)`;
  const [mode, list, ...rest] = text.split(':');
  if (rest.length > 0 || list === undefined || !(EXPERIMENT_MODES as readonly string[]).includes(mode!)) throw new RangeError(usage);
  const strategies = list.split(',').map((s) => s.trim());
  if (strategies.some((s) => !(STRATEGIES as readonly string[]).includes(s))) throw new RangeError(usage);
  if (strategies.length < 2 || strategies.length > MAX_VARIANTS) throw new RangeError(`${usage}; 2 to ${MAX_VARIANTS} variants`);
  if (mode === 'interleave' && strategies.length !== 2) throw new RangeError(`${usage}; an interleaved experiment has exactly two`);
  const seen = new Map<string, number>();
  const variants = strategies.map((strategy) => {
    const count = (seen.get(strategy) ?? 0) + 1;
    seen.set(strategy, count);
    return { name: count === 1 ? strategy : `${strategy}-${count}`, weight: 1, strategy: strategy as Strategy, params: {} };
  });
  return { mode: mode as ExperimentMode, variants };
}

export interface VisitsRange {
  min: number;
  max: number;
}

/** `--visits 3-6` (each shopper between 3 and 6 visits) or `--visits 4`. */
export function parseVisitsRange(text: string): VisitsRange {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const min = Number(match?.[1]);
  const max = Number(match?.[2] ?? match?.[1]);
  if (match === null || !(min >= 1) || max < min) throw new RangeError('--visits takes N or MIN-MAX, at least 1 (for example 3-6)');
  return { min, max };
}

/** One visit of one shopper: browsing, then one recommendation request and the shopper's reaction. */
export interface PlannedVisit {
  /** Index of the shopper in the population. */
  shopper: number;
  /** 1 for the shopper's first visit. */
  visit: number;
}

/**
 * The order of every visit of the run: each shopper draws how many times they come, then the visits
 * go in rounds (everyone's first visit, then the second visits of those who return, …), each round
 * in a fresh random order. So a shopper's visits are spread over the run, with the others' in
 * between, and the session and clicks of one visit are there at the next.
 */
export function planVisitOrder(shoppers: number, visits: VisitsRange, random: Random): PlannedVisit[] {
  const counts = Array.from({ length: shoppers }, () => visits.min + Math.floor(random() * (visits.max - visits.min + 1)));
  const order: PlannedVisit[] = [];
  for (let round = 1; round <= visits.max; round++) {
    const returning = counts.flatMap((count, shopper) => (count >= round ? [shopper] : []));
    shuffle(returning, random);
    for (const shopper of returning) order.push({ shopper, visit: round });
  }
  return order;
}

function shuffle<T>(items: T[], random: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/**
 * Products a shopper looks at before asking for recommendations: one to three distinct products of
 * their favourite category, so that the session the speed layer keeps says what they like and a
 * strategy that reads it has something to gain. Distinct, because the bot guard flags a product
 * seen over and over.
 */
export function browsedProducts(
  favouriteCategory: string,
  productsByCategory: ReadonlyMap<string, readonly string[]>,
  random: Random,
  most = 3,
): string[] {
  const candidates = [...(productsByCategory.get(favouriteCategory) ?? [])];
  shuffle(candidates, random);
  return candidates.slice(0, 1 + Math.floor(random() * most));
}

/** An event a reaction turns into, on the item at `position` of the list shown. */
export interface ReactionEvent {
  type: 'click' | 'add_to_cart' | 'purchase';
  position: number;
  productId: string;
  /** The product's price, on carts and purchases, when the catalog has one. */
  value?: number;
}

/** A reaction as a shop would see it: the clicks in list order, then what went into the cart, then the checkout. */
export function reactionEvents(
  items: readonly { productId: string }[],
  reaction: ShopperReaction,
  priceOf: (productId: string) => number | undefined,
): ReactionEvent[] {
  const on = (type: ReactionEvent['type'], position: number): ReactionEvent => {
    const productId = items[position]!.productId;
    const price = type === 'click' ? undefined : priceOf(productId);
    return price === undefined ? { type, position, productId } : { type, position, productId, value: price };
  };
  return [
    ...reaction.clicks.map((position) => on('click', position)),
    ...reaction.carts.map((position) => on('add_to_cart', position)),
    ...reaction.purchases.map((position) => on('purchase', position)),
  ];
}

/**
 * One generator per visit, from the seed and the visit: visits run concurrently, so a shared
 * generator would hand out its numbers in whatever order the answers happen to arrive.
 */
export function visitSeed(seed: number, { shopper, visit }: PlannedVisit): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(shopper + 1, 0xc2b2ae35) + Math.imul(visit, 0x27d4eb2f)) >>> 0;
}
