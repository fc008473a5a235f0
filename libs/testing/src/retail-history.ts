import type { ClickEvent, ConsumedEvent, EventType, PartitionBatch } from '@lambdarec/contracts';
import { seededRandom } from '@lambdarec/domain';

/**
 * A generated retail history for batch tests and benchmarks, seeded so that two runs see the same
 * shop. Shaped like the real thing rather than uniform noise: popularity follows a power law
 * (a few products and categories take most of the traffic, a long tail takes the rest), each
 * shopper has a home category and a second one, activity per shopper is skewed too, and the funnel
 * narrows from views to purchases.
 */
export interface RetailHistoryOptions {
  events: number;
  users: number;
  products: number;
  /** @defaultValue products / 100, at least 4 */
  categories?: number;
  /** Days the history spans, ending at `end`. @defaultValue 365 */
  days?: number;
  /** @defaultValue 2026-11-01T00:00:00Z */
  end?: number;
  /** @defaultValue 1 */
  seed?: number;
}

const FUNNEL: ReadonlyArray<readonly [EventType, number]> = [
  ['view', 0.6],
  ['click', 0.8],
  ['add_to_cart', 0.92],
  ['purchase', 1],
];

const hex = (value: number, width: number) => (value >>> 0).toString(16).padStart(width, '0').slice(-width);
/** A UUID that is a function of (seed, index): loading a history twice archives it once. */
export const generatedEventId = (seed: number, index: number) =>
  `${hex(seed, 8)}-${hex(Math.floor(index / 2 ** 32), 4)}-4000-8000-${hex(Math.floor(index / 2 ** 16) % 2 ** 16, 4)}${hex(index % 2 ** 16, 4)}${hex(seed ^ 0x5bd1e995, 4)}`;

export function* retailHistory({
  events,
  users,
  products,
  categories,
  days = 365,
  end = Date.parse('2026-11-01T00:00:00Z'),
  seed = 1,
}: RetailHistoryOptions): Generator<ClickEvent> {
  const random = seededRandom(seed);
  const categoryCount = Math.max(4, Math.min(products, categories ?? Math.round(products / 100)));
  const perCategory = products / categoryCount;
  // Each shopper's home and second category, themselves power-law popular.
  const homes = new Int32Array(users);
  const seconds = new Int32Array(users);
  for (let u = 0; u < users; u++) {
    homes[u] = Math.floor(categoryCount * random() ** 2);
    seconds[u] = Math.floor(categoryCount * random() ** 2);
  }
  const span = days * 24 * 60 * 60 * 1000;
  for (let i = 0; i < events; i++) {
    // Every shopper once, then skewed: a few shoppers come back very often.
    const user = i < users ? i : Math.floor(users * random() ** 1.5);
    const pick = random();
    const category = pick < 0.8 ? homes[user]! : pick < 0.95 ? seconds[user]! : Math.floor(categoryCount * random() ** 2);
    const product = Math.min(products - 1, Math.floor(category * perCategory + Math.floor(perCategory * random() ** 3)));
    const step = random();
    const type = FUNNEL.find(([, upTo]) => step < upTo)![0];
    yield {
      eventId: generatedEventId(seed, i),
      userId: `u${user}`,
      sessionId: `s${user}-${i % 7}`,
      type,
      productId: `p${product}`,
      category: `c${category}`,
      timestamp: new Date(end - Math.floor(random() * span)).toISOString(),
    };
  }
}

/**
 * The shape that once put a ceiling on the batch layer: many shoppers with many distinct products
 * each (views of `productsPerUser` different products per shopper, from a uniform catalogue).
 */
export function* wideHistory({
  users,
  productsPerUser,
  products,
  seed = 1,
  end = Date.parse('2026-11-01T00:00:00Z'),
}: {
  users: number;
  productsPerUser: number;
  products: number;
  seed?: number;
  end?: number;
}): Generator<ClickEvent> {
  const random = seededRandom(seed);
  let index = 0;
  for (let u = 0; u < users; u++) {
    const chosen = new Set<number>();
    while (chosen.size < Math.min(productsPerUser, products)) chosen.add(Math.floor(random() * products));
    for (const product of chosen) {
      yield {
        eventId: generatedEventId(seed, index++),
        userId: `w${u}`,
        type: 'view',
        productId: `p${product}`,
        category: `c${product % 20}`,
        timestamp: new Date(end - Math.floor(random() * 30 * 24 * 60 * 60 * 1000)).toISOString(),
      };
    }
  }
}

/** Cuts events into archive batches as if read from one partition of `topic`, offsets from `firstOffset`. */
export function* asPartitionBatches(
  events: Iterable<ClickEvent>,
  { topic, batchSize = 5000, firstOffset = 0 }: { topic: string; batchSize?: number; firstOffset?: number },
): Generator<PartitionBatch> {
  let batch: ConsumedEvent[] = [];
  let offset = firstOffset;
  for (const event of events) {
    batch.push({
      event,
      eventTime: new Date(event.timestamp!),
      arrivedAt: new Date(event.timestamp!),
      imported: true,
      offset: String(offset++),
    });
    if (batch.length === batchSize) {
      yield { topic, partition: 0, events: batch, nextOffset: String(offset) };
      batch = [];
    }
  }
  if (batch.length > 0) yield { topic, partition: 0, events: batch, nextOffset: String(offset) };
}
