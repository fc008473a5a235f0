import { describe, expect, it } from 'vitest';
import { coordinateSearch, stageCandidates } from './coordinate-search.js';

describe('stageCandidates', () => {
  it("is every combination of the stage's values over the base", () => {
    expect(stageCandidates({ a: 1, b: 1, c: 'x' }, { a: [1, 2], c: ['x', 'y'] })).toEqual([
      { a: 1, b: 1, c: 'x' },
      { a: 1, b: 1, c: 'y' },
      { a: 2, b: 1, c: 'x' },
      { a: 2, b: 1, c: 'y' },
    ]);
  });
});

describe('coordinateSearch', () => {
  it('moves one stage at a time from the start, holding the others at the best so far', () => {
    // Separable: the best a is 3 whatever b, the best b is 2 whatever a.
    const evaluated: string[] = [];
    const result = coordinateSearch({ a: 1, b: 1 }, [{ a: [1, 2, 3] }, { b: [1, 2, 3] }], (s) => {
      evaluated.push(`${s.a}${s.b}`);
      return 10 - (s.a - 3) ** 2 - (s.b - 2) ** 2;
    });
    expect(result.best).toEqual({ a: 3, b: 2 });
    expect(result.value).toBe(10);
    // The start is evaluated once, not again in the first stage; nor (3, 1) again in the second.
    expect(evaluated).toEqual(['11', '21', '31', '32', '33']);
    expect(result.evaluated).toBe(5);
  });

  it('keeps the earlier setting on a tie', () => {
    expect(coordinateSearch({ a: 1 }, [{ a: [2, 3] }], () => 0.5).best).toEqual({ a: 1 });
  });
});
