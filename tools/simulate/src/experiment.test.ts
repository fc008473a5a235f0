import type { ExperimentReport } from '@lambdarec/contracts';
import { createShopperPopulation, seededRandom } from '@lambdarec/domain';
import { demoCatalog } from '@lambdarec/local-stack';
import { describe, expect, it } from 'vitest';
import {
  browsedProducts,
  parseExperimentDesign,
  parseVisitsRange,
  planVisitOrder,
  reactionEvents,
  visitSeed,
  type PlannedVisit,
} from './experiment-plan.js';
import { formatExperimentLiveLine, formatExperimentTable } from './experiment-table.js';
import { createTruthLedger, judgeVerdict, trueCtr, trueOwnListCtr } from './experiment-truth.js';

const catalog = demoCatalog();
const population = createShopperPopulation({ catalog, seed: 5, size: 50, idPrefix: 'sim-5-' });
const productsByCategory = new Map<string, string[]>();
for (const { productId, category } of catalog) productsByCategory.set(category, [...(productsByCategory.get(category) ?? []), productId]);
const listOf = (...productIds: string[]) => productIds.map((productId) => ({ productId }));

describe('simulate experiment: planning', () => {
  it('reads --create as the baseline first, each variant named after its strategy, weights equal', () => {
    expect(parseExperimentDesign('ab:popular,lambda')).toEqual({
      mode: 'ab',
      variants: [
        { name: 'popular', weight: 1, strategy: 'popular', params: {} },
        { name: 'lambda', weight: 1, strategy: 'lambda', params: {} },
      ],
    });
    expect(parseExperimentDesign('ab:lambda,lambda').variants.map((v) => v.name)).toEqual(['lambda', 'lambda-2']);
    expect(parseExperimentDesign('interleave:batch-only,lambda').mode).toBe('interleave');
  });

  it('refuses an unknown mode or strategy, one variant, and interleaving of more than two', () => {
    for (const bad of ['ab', 'ab:lambda', 'abc:popular,lambda', 'ab:popular,best', 'interleave:popular,lambda,batch-only', 'ab:a:b']) {
      expect(() => parseExperimentDesign(bad), bad).toThrow(RangeError);
    }
  });

  it('reads --visits as a range or one number', () => {
    expect(parseVisitsRange('3-6')).toEqual({ min: 3, max: 6 });
    expect(parseVisitsRange('4')).toEqual({ min: 4, max: 4 });
    for (const bad of ['0', '6-3', 'x', '3-', '-3']) expect(() => parseVisitsRange(bad), bad).toThrow(RangeError);
  });

  it("spreads each shopper's visits over the run, in rounds, each shopper between min and max times", () => {
    const order = planVisitOrder(40, { min: 3, max: 6 }, seededRandom(1));
    const byShopper = new Map<number, PlannedVisit[]>();
    for (const planned of order) byShopper.set(planned.shopper, [...(byShopper.get(planned.shopper) ?? []), planned]);
    expect([...byShopper.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    for (const visits of byShopper.values()) {
      expect(visits.map((v) => v.visit)).toEqual(Array.from({ length: visits.length }, (_, i) => i + 1));
      expect(visits.length).toBeGreaterThanOrEqual(3);
      expect(visits.length).toBeLessThanOrEqual(6);
    }
    // Everyone's first visit comes before anyone's second: a return finds the last visit's session.
    const firstSecond = order.findIndex((v) => v.visit === 2);
    expect(order.slice(0, firstSecond).every((v) => v.visit === 1)).toBe(true);
    expect(firstSecond).toBe(40);
    expect(planVisitOrder(40, { min: 3, max: 6 }, seededRandom(1))).toEqual(order);
  });

  it('browses one to three distinct products of the favourite category', () => {
    const random = seededRandom(2);
    const seen = new Set<number>();
    for (let n = 0; n < 500; n++) {
      const browsed = browsedProducts('tea', productsByCategory, random);
      seen.add(browsed.length);
      expect(new Set(browsed).size).toBe(browsed.length);
      expect(browsed.every((id) => id.startsWith('tea-'))).toBe(true);
    }
    expect([...seen].sort()).toEqual([1, 2, 3]);
    expect(browsedProducts('no-such-category', productsByCategory, random)).toEqual([]);
  });

  it('turns a reaction into clicks, then carts, then purchases, with the price on carts and purchases', () => {
    const items = listOf('a', 'b', 'c');
    const events = reactionEvents(items, { clicks: [0, 2], carts: [2], purchases: [2] }, (id) => (id === 'c' ? 9.5 : undefined));
    expect(events).toEqual([
      { type: 'click', position: 0, productId: 'a' },
      { type: 'click', position: 2, productId: 'c' },
      { type: 'add_to_cart', position: 2, productId: 'c', value: 9.5 },
      { type: 'purchase', position: 2, productId: 'c', value: 9.5 },
    ]);
  });

  it('gives every visit its own seed, the same on every run', () => {
    const seeds = new Set<number>();
    for (let shopper = 0; shopper < 100; shopper++) for (let visit = 1; visit <= 6; visit++) seeds.add(visitSeed(7, { shopper, visit }));
    expect(seeds.size).toBe(600);
    expect(visitSeed(7, { shopper: 3, visit: 2 })).toBe(visitSeed(7, { shopper: 3, visit: 2 }));
    expect(visitSeed(8, { shopper: 3, visit: 2 })).not.toBe(visitSeed(7, { shopper: 3, visit: 2 }));
  });
});

describe('simulate experiment: the truth', () => {
  const shopper = population.shoppers[0]!;
  const favourite = shopper.favouriteCategories[0]!;
  const fanList = listOf(...productsByCategory.get(favourite)!.slice(0, 5));
  const otherList = listOf(...catalog.filter((p) => !shopper.favouriteCategories.includes(p.category)).map((p) => p.productId)).slice(0, 5);

  it("books each A/B list's expected clicks under its variant, and leaves other experiments' lists out", () => {
    const ledger = createTruthLedger('exp');
    ledger.record(shopper, { experiment: { id: 'exp', variant: 'lambda' }, items: fanList }, [0]);
    ledger.record(shopper, { experiment: { id: 'exp', variant: 'popular' }, items: otherList }, []);
    ledger.record(shopper, { experiment: { id: 'exp', variant: 'lambda' }, items: fanList }, [1, 3]);
    ledger.record(shopper, { experiment: null, items: fanList }, []);
    ledger.record(shopper, { experiment: { id: 'older', variant: 'lambda' }, items: fanList }, []);
    const arms = ledger.arms();
    expect([...arms.keys()]).toEqual(['lambda', 'popular']);
    expect(arms.get('lambda')).toMatchObject({ lists: 2, itemsShown: 10, clicks: 3 });
    expect(trueCtr(arms.get('lambda'))).toBeCloseTo(shopper.expectedCtr(fanList), 12);
    expect(trueCtr(arms.get('popular'))).toBeCloseTo(shopper.expectedCtr(otherList), 12);
    // The favourite category is what this shopper clicks: the truth says so.
    expect(trueCtr(arms.get('lambda'))!).toBeGreaterThan(trueCtr(arms.get('popular'))!);
    expect(ledger.outside).toBe(2);
  });

  it('books an interleaved list per team: in place, and as the team’s own list from the top', () => {
    const ledger = createTruthLedger('exp');
    const items = [
      { ...fanList[0]!, team: 'lambda' },
      { ...otherList[0]!, team: 'popular' },
      { ...otherList[1]!, team: 'popular' },
      { ...fanList[1]!, team: 'lambda' },
    ];
    ledger.record(shopper, { experiment: { id: 'exp', variant: 'interleaved' }, items }, [0, 2]);
    const lambda = ledger.arms().get('lambda')!;
    const popular = ledger.arms().get('popular')!;
    expect(lambda).toMatchObject({ lists: 1, itemsShown: 2, clicks: 1 });
    expect(popular).toMatchObject({ lists: 1, itemsShown: 2, clicks: 1 });
    expect(lambda.expectedClicks).toBeCloseTo(shopper.clickProbability(items[0]!, 0) + shopper.clickProbability(items[3]!, 3), 12);
    expect(lambda.ownListExpectedClicks).toBeCloseTo(shopper.expectedClicks([items[0]!, items[3]!]), 12);
    expect(trueOwnListCtr(lambda)!).toBeGreaterThan(trueCtr(lambda)!);
  });

  it('the simulated clicks average to the truth (the reactions follow the same model)', () => {
    const ledger = createTruthLedger('exp');
    const random = seededRandom(9);
    for (let n = 0; n < 20_000; n++) {
      const someone = population.shoppers[n % population.shoppers.length]!;
      const list = n % 2 === 0 ? fanList : otherList;
      ledger.record(someone, { experiment: { id: 'exp', variant: 'v' }, items: list }, someone.react(list, random).clicks);
    }
    const arm = ledger.arms().get('v')!;
    expect(arm.clicks / arm.expectedClicks).toBeGreaterThan(0.95);
    expect(arm.clicks / arm.expectedClicks).toBeLessThan(1.05);
  });

  it('a verdict agrees when it names the truly better side, and an undecided one is neither', () => {
    expect(judgeVerdict('challenger-better', 0.02, 0.03)).toBe('agrees');
    expect(judgeVerdict('baseline-better', 0.02, 0.03)).toBe('disagrees');
    expect(judgeVerdict('baseline-better', 0.04, 0.03)).toBe('agrees');
    expect(judgeVerdict('challenger-better', 0.04, 0.03)).toBe('disagrees');
    expect(judgeVerdict('no-difference-yet', 0.02, 0.03)).toBe('undecided');
    expect(judgeVerdict('challenger-better', undefined, 0.03)).toBe('undecided');
  });
});

describe('simulate experiment: the table', () => {
  const arms = new Map([
    ['popular', { lists: 200, itemsShown: 2000, clicks: 61, expectedClicks: 62, ownListExpectedClicks: 62 }],
    ['lambda', { lists: 210, itemsShown: 2100, clicks: 118, expectedClicks: 115.5, ownListExpectedClicks: 115.5 }],
  ]);
  const variant = (name: string, impressions: number, clicks: number, ctr: number, ctrInterval: [number, number]) => ({
    name,
    users: 50,
    impressions,
    itemsShown: impressions * 10,
    clicks,
    ctr,
    ctrInterval,
    addToCarts: 0,
    purchases: 0,
    revenue: 0,
  });
  const report: ExperimentReport = {
    experimentId: 'sim-ab',
    mode: 'ab',
    since: '2026-12-07T10:00:00.000Z',
    until: '2026-12-07T10:05:00.000Z',
    variants: [variant('popular', 199, 60, 0.0302, [0.022, 0.038]), variant('lambda', 210, 118, 0.0562, [0.045, 0.067])],
    comparison: {
      baseline: 'popular',
      challenger: 'lambda',
      difference: 0.026,
      interval: [0.013, 0.039],
      pValue: 0.0004,
      verdict: 'challenger-better',
    },
  };

  it('sets the measured CTR beside the true one, and says whether the verdict agrees', () => {
    expect(formatExperimentTable({ experimentId: 'sim-ab', mode: 'ab', arms, report }).split('\n')).toEqual([
      'experiment sim-ab (ab)',
      '',
      '| variant | lists sent | lists counted | clicks sent | clicks counted | measured CTR [95 %] | true CTR |',
      '|---------|------------|---------------|-------------|----------------|---------------------|----------|',
      '| popular | 200        | 199           | 61          | 60             | 3.02 % [2.20, 3.80] | 3.10 %   |',
      '| lambda  | 210        | 210           | 118         | 118            | 5.62 % [4.50, 6.70] | 5.50 %   |',
      '',
      'A/B: challenger-better (lambda − popular +2.60 pp [1.30, 3.90], p < 0.001); truth: lambda better by +2.40 pp → agrees',
    ]);
  });

  it('adds the interleaving verdict, judged by each team’s own list', () => {
    const table = formatExperimentTable({
      experimentId: 'sim-il',
      mode: 'interleave',
      arms,
      report: {
        ...report,
        mode: 'interleave',
        interleaving: { wins: 40, losses: 22, ties: 300, preference: 0.05, interval: [0.01, 0.09], verdict: 'challenger-better' },
      },
    });
    expect(table).toContain('| true CTR, own list |');
    expect(table).toContain(
      'interleaving: challenger-better (40 won, 22 lost, 300 tied, preference 0.050 [0.010, 0.090]); truth: lambda better by +2.40 pp → agrees',
    );
  });

  it('without a report, shows what the simulator knows and why the rest is missing', () => {
    const outcome = { experimentId: 'sim-ab', mode: 'ab' as const, arms, report: undefined, reportProblem: 'batch answered 404' };
    const table = formatExperimentTable(outcome);
    expect(table).toContain('| popular | 200        | –             | 61          | –              | –                   | 3.10 %   |');
    expect(table.endsWith('report: not available (batch answered 404)')).toBe(true);
    expect(formatExperimentLiveLine({ elapsedMs: 12_500, visitsDone: 40, visitsPlanned: 600 }, outcome)).toBe(
      '12 s  visits 40/600  popular 200 lists CTR – true 3.10 %  lambda 210 lists CTR – true 5.50 %  report: batch answered 404',
    );
  });
});
