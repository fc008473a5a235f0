/**
 * The shopper traffic of `npm run simulate`, without I/O: who shops, what they look at, when each
 * event is due, and the figures the live line shows. Randomness is passed in, so a seed replays a run.
 */
import type { EventType } from '@lambdarec/contracts';

/** A source of numbers in [0, 1), like Math.random. */
export type Random = () => number;

// The same seeded generator as the demo data and the eval: one seed, the same traffic.
export { seededRandom } from '@lambdarec/domain';

export interface SimulatedProduct {
  productId: string;
  /** The catalog's price; a purchase carries it as its value when known. */
  price?: number | undefined;
  /** The catalog's category: the experiment mode's shoppers like some categories more than others. */
  category?: string | undefined;
}

/**
 * Picks products with Zipf-like popularity (weight 1/rank): a few products get most of the views,
 * as in real shops, so the batch and session layers see items that co-occur. The rank order is
 * shuffled once, so popularity does not follow the catalog's alphabetical order.
 */
export function createProductPicker(products: readonly SimulatedProduct[], random: Random): () => SimulatedProduct {
  if (products.length === 0) throw new Error('a simulation needs at least one product');
  const ranked = [...products];
  for (let i = ranked.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ranked[i], ranked[j]] = [ranked[j]!, ranked[i]!];
  }
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= ranked.length; rank++) cumulative.push((total += 1 / rank));
  return () => {
    const target = random() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid]! > target) high = mid;
      else low = mid + 1;
    }
    return ranked[low]!;
  };
}

/** How shoppers move through the funnel. */
export interface Funnel {
  /** Products a shopper views, on average (at least one; geometric, so most view few). @defaultValue 4 */
  meanViews: number;
  /** Chance that a viewed product is clicked (its page opened). @defaultValue 0.3 */
  click: number;
  /** Chance that a clicked product goes into the cart. @defaultValue 0.12 */
  addToCart: number;
  /** Chance that a shopper with a cart checks out (every cart item becomes a purchase). @defaultValue 0.3 */
  checkout: number;
}

/**
 * Roughly what shop analytics report: about three in four shoppers click something, one in eight
 * fills a cart, and three to four in a hundred buy (cart abandonment is around 70 %).
 */
export const DEFAULT_FUNNEL: Funnel = { meanViews: 4, click: 0.3, addToCart: 0.12, checkout: 0.3 };

export interface PlannedEvent {
  type: EventType;
  productId: string;
  value?: number;
}

/** One shopper's visit, in order: views (some clicked, some of those carted), then perhaps a checkout. */
export function planVisit(pick: () => SimulatedProduct, random: Random, funnel: Funnel = DEFAULT_FUNNEL): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  const cart = new Map<string, SimulatedProduct>();
  // Geometric number of views with the given mean: after each view, the shopper leaves with 1/mean.
  const leave = 1 / Math.max(1, funnel.meanViews);
  do {
    const product = pick();
    events.push({ type: 'view', productId: product.productId });
    if (random() < funnel.click) {
      events.push({ type: 'click', productId: product.productId });
      if (random() < funnel.addToCart) {
        events.push({ type: 'add_to_cart', productId: product.productId });
        cart.set(product.productId, product);
      }
    }
  } while (random() >= leave);
  if (cart.size > 0 && random() < funnel.checkout) {
    for (const product of cart.values()) {
      events.push(
        product.price === undefined
          ? { type: 'purchase', productId: product.productId }
          : { type: 'purchase', productId: product.productId, value: product.price },
      );
    }
  }
  return events;
}

/**
 * Events that should have been sent by now at `ratePerSecond`, minus those already sent. Counting
 * from the start (not per tick) keeps the long-run rate exact whatever the timer's jitter.
 */
export function eventsDue(ratePerSecond: number, elapsedMs: number, sent: number): number {
  return Math.max(0, Math.floor((ratePerSecond * elapsedMs) / 1000) - sent);
}

export interface Shopper {
  userId: string;
  events: PlannedEvent[];
  /** Events of this shopper already handed out. */
  next: number;
  /** When this shopper may send again (they read a page between clicks). */
  readyAt: number;
  /** Whether this shopper's first event is followed until serving shows the session. */
  sampled: boolean;
}

export interface Outgoing {
  shopper: Shopper;
  event: PlannedEvent;
  /** The shopper's first event: a sampled shopper's session becomes visible after it. */
  first: boolean;
}

export interface ShopperPoolOptions {
  plan: () => PlannedEvent[];
  random: Random;
  newUserId: (n: number) => string;
  /** Every Nth new shopper is sampled for the click-to-visible time. */
  sampleEvery: number;
  /** Pause between one shopper's events, drawn uniformly from this range (ms). @defaultValue [500, 4000] */
  thinkTimeMs?: readonly [number, number];
}

/**
 * Shoppers in the shop at once. The global rate decides how many events go out; the pool decides
 * whose: shoppers whose think time is over, in arrival order, one event each, and new shoppers
 * arrive whenever too few are ready. So the number of shoppers follows the rate, and one shopper's
 * events keep their order and spacing.
 */
export function createShopperPool({ plan, random, newUserId, sampleEvery, thinkTimeMs = [500, 4000] }: ShopperPoolOptions) {
  const active: Shopper[] = [];
  let arrived = 0;
  const think = () => thinkTimeMs[0] + random() * (thinkTimeMs[1] - thinkTimeMs[0]);
  return {
    get arrived() {
      return arrived;
    },
    get active() {
      return active.length;
    },
    take(now: number, count: number): Outgoing[] {
      const out: Outgoing[] = [];
      for (const shopper of active) {
        if (out.length === count) break;
        if (shopper.readyAt > now) continue;
        out.push({ shopper, event: shopper.events[shopper.next++]!, first: false });
        shopper.readyAt = now + think();
      }
      while (out.length < count) {
        arrived++;
        const shopper: Shopper = {
          userId: newUserId(arrived),
          events: plan(),
          next: 1,
          readyAt: now + think(),
          sampled: arrived % sampleEvery === 0,
        };
        active.push(shopper);
        out.push({ shopper, event: shopper.events[0]!, first: true });
      }
      // Shoppers with nothing left to send have gone home.
      for (let i = active.length - 1; i >= 0; i--) if (active[i]!.next >= active[i]!.events.length) active.splice(i, 1);
      return out;
    },
  };
}

/** Nearest-rank percentile (p in 0–100) of the values; undefined when there are none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export interface TrafficFigures {
  elapsedMs: number;
  durationMs: number;
  /** Events sent in the last second. */
  eventsPerSecond: number;
  sent: number;
  accepted: number;
  clientErrors: number;
  serverErrors: number;
  /** Requests that got no answer (refused connection, reset, timeout). */
  networkErrors: number;
  speedLag: number | undefined;
  visibleMs: readonly number[];
  /** Sampled shoppers whose session did not show up in time. */
  notVisible: number;
}

const ms = (value: number | undefined) => (value === undefined ? '–' : `${Math.round(value)} ms`);

/** The live line: `21 ev/s  202: 412  4xx: 0  5xx: 0  speed lag: 0  visible p50 84 ms p99 190 ms (n=9)`. */
export function formatLiveLine(f: TrafficFigures): string {
  const lag = f.speedLag === undefined ? '?' : String(f.speedLag);
  const failed = f.networkErrors > 0 ? `  no answer: ${f.networkErrors}` : '';
  const missing = f.notVisible > 0 ? `, ${f.notVisible} not visible` : '';
  return (
    `${f.eventsPerSecond.toFixed(0)} ev/s  202: ${f.accepted}  4xx: ${f.clientErrors}  5xx: ${f.serverErrors}${failed}  speed lag: ${lag}  ` +
    `visible p50 ${ms(percentile(f.visibleMs, 50))} p99 ${ms(percentile(f.visibleMs, 99))} (n=${f.visibleMs.length}${missing})`
  );
}

/** `[#####.......] 40% 24s/60s`: how far through the run's duration. */
export function formatDurationBar(elapsedMs: number, durationMs: number, width = 20): string {
  const fraction = Math.min(1, Math.max(0, elapsedMs / durationMs));
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${Math.floor(elapsedMs / 1000)}s/${Math.round(durationMs / 1000)}s`;
}

/** The closing line, one line so that logs and tests can read it. */
export function formatSummary(f: TrafficFigures, shoppers: number, byType: Readonly<Record<EventType, number>>): string {
  const seconds = f.elapsedMs / 1000;
  const rate = seconds > 0 ? f.sent / seconds : 0;
  return (
    `summary: ${f.sent} events in ${seconds.toFixed(1)} s (${rate.toFixed(1)} ev/s) from ${shoppers} shoppers ` +
    `(view ${byType.view}, click ${byType.click}, add_to_cart ${byType.add_to_cart}, purchase ${byType.purchase}); ` +
    `answers 202: ${f.accepted}, 4xx: ${f.clientErrors}, 5xx: ${f.serverErrors}, no answer: ${f.networkErrors}; ` +
    `speed lag: ${f.speedLag ?? '?'}; session visible after p50 ${ms(percentile(f.visibleMs, 50))}, p99 ${ms(percentile(f.visibleMs, 99))} ` +
    `(${f.visibleMs.length} sampled${f.notVisible > 0 ? `, ${f.notVisible} not visible within the timeout` : ''})`
  );
}
