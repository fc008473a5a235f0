import { describe, expect, it } from 'vitest';
import { createBeyondAccuracy, intraListDiversity, listNovelty, mostPopular } from './beyond-accuracy.js';

const CATEGORY: Record<string, string | null> = { a: 'BAG', b: 'BAG', c: 'MUG', d: 'CARD', e: null };
const categoryOf = (id: string) => CATEGORY[id] ?? null;

describe('mostPopular', () => {
  it('is the ⌈5 %⌉ of the catalogue held by most baskets, ties by id', () => {
    const holding = new Map(Array.from({ length: 40 }, (_, i) => [`p${String(i).padStart(2, '0')}`, i % 10] as const));
    // Counts 9 for p09, p19, p29, p39; 5 % of 40 = 2 → the first two by id.
    expect([...mostPopular(holding, 0.05)]).toEqual(['p09', 'p19']);
  });
});

describe('intraListDiversity', () => {
  it('is the share of pairs whose categories differ', () => {
    // (a, b) same, (a, c) and (b, c) differ.
    expect(intraListDiversity(['a', 'b', 'c'], categoryOf)).toBeCloseTo(2 / 3, 12);
    expect(intraListDiversity(['a', 'c', 'd'], categoryOf)).toBe(1);
  });

  it('leaves out products without a category, and says nothing about a list without a pair', () => {
    expect(intraListDiversity(['a', 'e', 'c'], categoryOf)).toBe(1);
    expect(intraListDiversity(['a', 'e'], categoryOf)).toBeUndefined();
  });
});

describe('listNovelty', () => {
  it('is the mean −log2 of the share of training baskets holding each product', () => {
    const holding = new Map([
      ['a', 50],
      ['b', 25],
    ]);
    expect(listNovelty(['a', 'b'], holding, 100)).toBeCloseTo((1 + 2) / 2, 12);
    // Never seen: one basket of 100.
    expect(listNovelty(['z'], holding, 100)).toBeCloseTo(Math.log2(100), 12);
  });
});

describe('createBeyondAccuracy', () => {
  it('pools coverage and popular share over the lists, and averages diversity and novelty per list', () => {
    // 20 products: a holds 8 baskets of 16, b 4, c 2, d 1, the others 1; top 5 % = 1 product (a).
    const holding = new Map<string, number>([
      ['a', 8],
      ['b', 4],
      ['c', 2],
      ['d', 1],
      ...Array.from({ length: 16 }, (_, i) => [`x${i}`, 1] as const),
    ]);
    const acc = createBeyondAccuracy({ basketsHolding: holding, trainBaskets: 16, categoryOf, k: 3 });
    acc.add(['a', 'b', 'c', 'd']); // top 3: a b c → ILD 2/3, novelty (1 + 2 + 3) / 3
    acc.add(['a', 'd']); // ILD 1, novelty (1 + 4) / 2
    const result = acc.result();
    expect(result.coverage).toBeCloseTo(4 / 20, 12);
    expect(result.popularShare).toBeCloseTo(2 / 5, 12);
    expect(result.diversity).toBeCloseTo((2 / 3 + 1) / 2, 12);
    expect(result.novelty).toBeCloseTo((2 + 2.5) / 2, 12);
  });
});
