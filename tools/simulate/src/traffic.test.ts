import { describe, expect, it } from 'vitest';
import {
  createProductPicker,
  createShopperPool,
  eventsDue,
  formatLiveLine,
  percentile,
  planVisit,
  seededRandom,
  type PlannedEvent,
  type TrafficFigures,
} from './traffic.js';

describe('simulate traffic (pure)', () => {
  const catalog = Array.from({ length: 50 }, (_, i) => ({ productId: `p${i}`, price: i + 1 }));

  it('plans visits in funnel order: a click follows its view, a cart its click, purchases only of carted products', () => {
    const random = seededRandom(7);
    const pick = createProductPicker(catalog, random);
    for (let n = 0; n < 2_000; n++) {
      const visit = planVisit(pick, random);
      expect(visit[0]!.type).toBe('view');
      const carted = new Set<string>();
      visit.forEach((event, i) => {
        const before = visit[i - 1];
        if (event.type === 'click') expect(before).toEqual({ type: 'view', productId: event.productId });
        if (event.type === 'add_to_cart') {
          expect(before).toEqual({ type: 'click', productId: event.productId });
          carted.add(event.productId);
        }
        if (event.type === 'purchase') {
          expect(carted.has(event.productId)).toBe(true);
          expect(event.value).toBe(Number(event.productId.slice(1)) + 1);
        }
      });
    }
  });

  it('most shoppers drop off early: far more view than click, click than cart, cart than buy', () => {
    const random = seededRandom(11);
    const pick = createProductPicker(catalog, random);
    const reached = { view: 0, click: 0, add_to_cart: 0, purchase: 0 };
    const visits = 10_000;
    for (let n = 0; n < visits; n++) for (const type of new Set(planVisit(pick, random).map((e) => e.type))) reached[type]++;
    expect(reached.view).toBe(visits);
    expect(reached.click / visits).toBeGreaterThan(0.5);
    expect(reached.add_to_cart / visits).toBeGreaterThan(0.05);
    expect(reached.add_to_cart / visits).toBeLessThan(0.25);
    expect(reached.purchase / visits).toBeGreaterThan(0.01);
    expect(reached.purchase / visits).toBeLessThan(0.08);
  });

  it('picks a few products much more often than the rest', () => {
    const random = seededRandom(3);
    const pick = createProductPicker(catalog, random);
    const counts = new Map<string, number>();
    for (let n = 0; n < 20_000; n++) {
      const { productId } = pick();
      counts.set(productId, (counts.get(productId) ?? 0) + 1);
    }
    const sorted = [...counts.values()].sort((a, b) => b - a);
    expect(sorted[0]!).toBeGreaterThan(10 * sorted.at(-1)!);
    expect(counts.size).toBe(catalog.length);
  });

  it('paces by the total since the start, so the rate holds however the ticks fall', () => {
    expect(eventsDue(20, 0, 0)).toBe(0);
    expect(eventsDue(20, 1_000, 0)).toBe(20);
    expect(eventsDue(20, 1_049, 20)).toBe(0);
    expect(eventsDue(20, 1_050, 20)).toBe(1);
    expect(eventsDue(20, 500, 15)).toBe(0);
    expect(eventsDue(0.5, 4_000, 1)).toBe(1);
  });

  it("hands out each shopper's events in order, one at a time after a think time, and samples every Nth shopper", () => {
    const visit: PlannedEvent[] = [
      { type: 'view', productId: 'a' },
      { type: 'click', productId: 'a' },
      { type: 'view', productId: 'b' },
    ];
    const pool = createShopperPool({
      plan: () => [...visit],
      random: () => 0.5,
      newUserId: (n) => `u${n}`,
      sampleEvery: 2,
      thinkTimeMs: [1_000, 1_000],
    });
    const first = pool.take(0, 3);
    expect(first.map((o) => [o.shopper.userId, o.event.type, o.first, o.shopper.sampled])).toEqual([
      ['u1', 'view', true, false],
      ['u2', 'view', true, true],
      ['u3', 'view', true, false],
    ]);
    // Nobody is ready again before their think time: newcomers take the events.
    expect(pool.take(500, 1).map((o) => o.shopper.userId)).toEqual(['u4']);
    const later = pool.take(1_000, 4);
    expect(later.map((o) => [o.shopper.userId, o.event.type, o.first])).toEqual([
      ['u1', 'click', false],
      ['u2', 'click', false],
      ['u3', 'click', false],
      ['u5', 'view', true],
    ]);
    pool.take(2_000, 3);
    expect(pool.active).toBe(2);
  });

  it('nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([5], 99)).toBe(5);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
  });

  it('the live line shows rate, answers, lag and the visibility percentiles', () => {
    const figures: TrafficFigures = {
      elapsedMs: 3_000,
      durationMs: 10_000,
      eventsPerSecond: 19.6,
      sent: 60,
      accepted: 58,
      clientErrors: 2,
      serverErrors: 0,
      networkErrors: 0,
      speedLag: 0,
      visibleMs: [80, 120, 95],
      notVisible: 0,
    };
    expect(formatLiveLine(figures)).toBe('20 ev/s  202: 58  4xx: 2  5xx: 0  speed lag: 0  visible p50 95 ms p99 120 ms (n=3)');
  });
});
