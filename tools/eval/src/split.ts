import type { PurchaseLine } from './dataset.js';
export { seededRandom } from '@lambdarec/domain';

/** One invoice: a customer's basket at one time, its distinct products in the order they were entered. */
export interface Basket {
  customerId: string;
  invoice: string;
  at: number;
  items: string[];
}

/** Invoices as baskets, oldest first (ties by invoice number, so the order never depends on the file's). */
export function toBaskets(lines: readonly PurchaseLine[]): Basket[] {
  const byInvoice = new Map<string, Basket>();
  for (const line of [...lines].sort((a, b) => a.line - b.line)) {
    let basket = byInvoice.get(line.invoice);
    if (basket === undefined) {
      byInvoice.set(line.invoice, (basket = { customerId: line.customerId, invoice: line.invoice, at: line.at, items: [] }));
    }
    if (!basket.items.includes(line.productId)) basket.items.push(line.productId);
  }
  return [...byInvoice.values()].sort((a, b) => a.at - b.at || a.invoice.localeCompare(b.invoice));
}

/** A time split: train on what happened before `cutoff`, evaluate on what each customer did in [cutoff, end). */
export interface TimeSplit {
  name: string;
  cutoff: number;
  end: number;
}

export interface SplitData {
  split: TimeSplit;
  train: Basket[];
  /** Per customer with history before the cutoff: their baskets in the window, oldest first. */
  future: Map<string, Basket[]>;
}

export function splitByTime(baskets: readonly Basket[], split: TimeSplit): SplitData {
  const train = baskets.filter((b) => b.at < split.cutoff);
  const known = new Set(train.map((b) => b.customerId));
  const future = new Map<string, Basket[]>();
  for (const basket of baskets) {
    if (basket.at < split.cutoff || basket.at >= split.end || !known.has(basket.customerId)) continue;
    let list = future.get(basket.customerId);
    if (list === undefined) future.set(basket.customerId, (list = []));
    list.push(basket);
  }
  return { split, train, future };
}

const DAY = 24 * 60 * 60 * 1000;

/**
 * The splits the eval uses on a history: the test window is the last `testDays`; the validation
 * window is the `validationDays` before it, trained only on what came before that. Tuning looks at
 * validation alone, so the test figures are not fitted to the test window.
 */
export function defaultSplits(baskets: readonly Basket[], testDays = 90, validationDays = 60): { validation: TimeSplit; test: TimeSplit } {
  if (baskets.length === 0) throw new Error('no baskets to split');
  const last = baskets[baskets.length - 1]!.at;
  // Whole days, so the cutoffs read plainly in the report.
  const end = Math.floor(last / DAY) * DAY + DAY;
  const testCutoff = end - testDays * DAY;
  const validationCutoff = testCutoff - validationDays * DAY;
  return {
    validation: { name: 'validation', cutoff: validationCutoff, end: testCutoff },
    test: { name: 'test', cutoff: testCutoff, end },
  };
}

/** At most `n` of the items, chosen with the seeded generator, in their original order. */
export function sample<T>(items: readonly T[], n: number, random: () => number): T[] {
  if (n >= items.length) return [...items];
  const picked = items.map((item, index) => ({ item, index, key: random() }));
  picked.sort((a, b) => a.key - b.key);
  return picked
    .slice(0, n)
    .sort((a, b) => a.index - b.index)
    .map((p) => p.item);
}
