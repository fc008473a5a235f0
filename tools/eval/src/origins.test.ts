import { describe, expect, it } from 'vitest';
import { clusteredPairedBootstrap } from './bootstrap.js';
import { compareOrigins, scoreOrigin, sessionUplifts, testWindowOrigins, validationWindowOrigins, type OriginScores } from './origins.js';

const DAY = 24 * 60 * 60 * 1000;

/** An origin where `a` and `b` scored these HR@10 values (NDCG the same halved), per customer. */
function origin(cutoff: string, rows: Array<[customer: string, a: number, b: number]>): OriginScores {
  const of = (pick: (row: [string, number, number]) => number) => {
    const hit = Float64Array.from(rows, pick);
    return { hit, ndcg: hit.map((x) => x / 2) };
  };
  return {
    cutoff,
    customers: rows.map(([customer]) => customer),
    scores: new Map([
      ['a', of((row) => row[1])],
      ['b', of((row) => row[2])],
    ]),
  };
}

describe('compareOrigins', () => {
  const first = origin('2011-09-11', [
    ['c1', 1, 0],
    ['c2', 1, 1],
    ['c3', 0, 0],
    ['c4', 1, 0],
  ]);
  const second = origin('2011-10-11', [
    ['c1', 0, 1],
    ['c5', 1, 1],
  ]);
  const result = compareOrigins([first, origin('2011-11-10', []), second], 'a', ['b'], { seed: 1, resamples: 200, horizonDays: 30 });

  it('gives each origin its means and paired difference, leaving out an origin without cases', () => {
    expect(result.origins.map((o) => [o.cutoff, o.cases])).toEqual([
      ['2011-09-11', 4],
      ['2011-10-11', 2],
    ]);
    expect(result.origins[0]!.means).toEqual([
      { variant: 'a', hit: 0.75, ndcg: 0.375 },
      { variant: 'b', hit: 0.25, ndcg: 0.125 },
    ]);
    expect(result.origins[0]!.comparisons[0]!.hit.mean).toBe(0.5);
    expect(result.origins[1]!.comparisons[0]!.hit.mean).toBe(-0.5);
  });

  it('pools the cases over origins, counting a customer asked twice once', () => {
    expect(result.pooled.cases).toBe(6);
    expect(result.pooled.customers).toBe(5);
    const [pooled] = result.pooled.comparisons;
    // (1 + 0 + 0 + 1 − 1 + 0) / 6
    expect(pooled!.hit.mean).toBeCloseTo(1 / 6, 12);
    expect(pooled!.ndcg.mean).toBeCloseTo(1 / 12, 12);
    // The origins' cases in order, customer c1 the same customer at both origins.
    expect(pooled!.hit).toEqual(
      clusteredPairedBootstrap([1, 1, 0, 1, 0, 1], [0, 1, 0, 0, 1, 1], [0, 1, 2, 3, 0, 4], { seed: 1, resamples: 200 }),
    );
  });

  it('refuses a variant an origin has no scores for', () => {
    expect(() => compareOrigins([first], 'a', ['c'], { seed: 1, resamples: 10, horizonDays: 30 })).toThrow(/no scores for c/);
  });
});

describe('scoreOrigin', () => {
  it("scores each variant's top 10 per case, in the cases' order", () => {
    const at = Date.parse('2011-09-12T10:00:00Z');
    const cases = [
      { customerId: 'c1', session: [], at, target: new Set(['p1']) },
      { customerId: 'c2', session: [], at, target: new Set(['p9']) },
    ];
    const scored = scoreOrigin('2011-09-11', cases, [{ name: 'v', recommend: () => ['p1', 'p2'] }]);
    expect(scored.customers).toEqual(['c1', 'c2']);
    expect([...scored.scores.get('v')!.hit]).toEqual([1, 0]);
    expect(scored.scores.get('v')!.ndcg[0]).toBe(1);
  });
});

describe('testWindowOrigins', () => {
  it('steps on from the test cutoff a month at a time, each origin with its own month inside the window', () => {
    const cutoff = Date.parse('2011-09-11T00:00:00Z');
    const origins = testWindowOrigins({ name: 'test', cutoff, end: cutoff + 90 * DAY }, 30);
    expect(origins.map((o) => [o.cutoff, o.end])).toEqual([
      [cutoff, cutoff + 30 * DAY],
      [cutoff + 30 * DAY, cutoff + 60 * DAY],
      [cutoff + 60 * DAY, cutoff + 90 * DAY],
    ]);
    expect(testWindowOrigins({ name: 'test', cutoff, end: cutoff + 59 * DAY }, 30)).toHaveLength(1);
  });
});

describe('validationWindowOrigins', () => {
  const cutoff = Date.parse('2011-07-13T00:00:00Z');
  const validation = { name: 'validation', cutoff, end: cutoff + 60 * DAY };

  it('steps back from the validation cutoff, oldest first, and no month reaches past the cutoff but its own', () => {
    const origins = validationWindowOrigins(validation, 30, 3, 0);
    expect(origins.map((o) => o.cutoff)).toEqual([cutoff - 90 * DAY, cutoff - 60 * DAY, cutoff - 30 * DAY, cutoff]);
    for (const origin of origins.slice(0, -1)) expect(origin.end).toBeLessThanOrEqual(cutoff);
    // The validation cutoff's month ends before the test window starts.
    expect(origins.at(-1)!.end).toBeLessThanOrEqual(validation.end);
  });

  it('starts none at or before the first basket of the history', () => {
    expect(validationWindowOrigins(validation, 30, 3, cutoff - 60 * DAY).map((o) => o.cutoff)).toEqual([cutoff - 30 * DAY, cutoff]);
  });
});

describe('sessionUplifts', () => {
  it("is each case's figure with the session minus the same method's without it, named as the uplift of the one with it", () => {
    const scores = (hit: number[]) => ({ hit: Float64Array.from(hit), ndcg: Float64Array.from(hit, (x) => x / 4) });
    const origin: OriginScores = {
      cutoff: '2011-09-11',
      customers: ['c1', 'c2', 'c3'],
      scores: new Map([
        ['a + session', scores([1, 1, 0])],
        ['a', scores([0, 1, 1])],
      ]),
    };
    const uplift = sessionUplifts(origin, [['a + session', 'a']]);
    expect(uplift.customers).toEqual(['c1', 'c2', 'c3']);
    expect([...uplift.scores.get('uplift of a + session')!.hit]).toEqual([1, 0, -1]);
    expect([...uplift.scores.get('uplift of a + session')!.ndcg]).toEqual([0.25, 0, -0.25]);
    expect([...uplift.scores.keys()]).toEqual(['uplift of a + session']);
    expect(() => sessionUplifts(origin, [['b + session', 'b']])).toThrow(/no scores for b \+ session/);
  });
});
