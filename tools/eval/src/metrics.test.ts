import { describe, expect, it } from 'vitest';
import { MetricAccumulator, scoreList } from './metrics.js';

describe('scoreList', () => {
  it('a first-place hit of a one-item target scores 1 on every metric', () => {
    expect(scoreList(['a', 'b'], new Set(['a']), 10)).toEqual({ hit: 1, recall: 1, ndcg: 1 });
  });

  it('a hit in second place scores NDCG 1/log2(3)', () => {
    expect(scoreList(['x', 'a'], new Set(['a']), 10).ndcg).toBeCloseTo(1 / Math.log2(3), 12);
  });

  it('recall is the share of the target found; NDCG compares with the ideal order', () => {
    const scores = scoreList(['a', 'x', 'b'], new Set(['a', 'b', 'c', 'd']), 10);
    expect(scores.recall).toBe(0.5);
    const ideal = 1 + 1 / Math.log2(3) + 1 / Math.log2(4) + 1 / Math.log2(5);
    expect(scores.ndcg).toBeCloseTo((1 + 1 / Math.log2(4)) / ideal, 12);
  });

  it('counts only the first k places', () => {
    expect(scoreList(['x', 'y', 'a'], new Set(['a']), 2)).toEqual({ hit: 0, recall: 0, ndcg: 0 });
  });

  it('credits an item repeated in the list once', () => {
    expect(scoreList(['a', 'a'], new Set(['a', 'b']), 10).recall).toBe(0.5);
  });

  it('refuses an empty target', () => {
    expect(() => scoreList(['a'], new Set(), 10)).toThrow(RangeError);
  });
});

describe('MetricAccumulator', () => {
  it('averages over lists and draws the HR@k curve from the first hit', () => {
    const acc = new MetricAccumulator(10, 3);
    acc.add(['a', 'x', 'y'], new Set(['a']));
    acc.add(['x', 'y', 'b'], new Set(['b']));
    acc.add(['x', 'y', 'z'], new Set(['c']));
    expect(acc.n).toBe(3);
    expect(acc.means().hit).toBeCloseTo(2 / 3, 12);
    expect(acc.hitCurve()).toEqual([1 / 3, 1 / 3, 2 / 3]);
  });
});
