import { describe, expect, it } from 'vitest';
import { recommendationsQuerySchema, similarQuerySchema, userIdParamsSchema } from './recommendation.js';

const parseQuery = (query: Record<string, unknown>) => recommendationsQuerySchema.safeParse(query);

const dataOf = (query: Record<string, unknown>) => {
  const result = parseQuery(query);
  if (!result.success) throw new Error(`expected the query to be accepted: ${result.error.message}`);
  return result.data;
};

const issuePaths = (query: Record<string, unknown>) => {
  const result = parseQuery(query);
  if (result.success) throw new Error('expected the query to be rejected');
  return result.error.issues.map((issue) => issue.path);
};

describe('recommendationsQuerySchema', () => {
  it('defaults limit to 10 and exclude to an empty list', () => {
    expect(dataOf({})).toEqual({ limit: 10, exclude: [] });
  });

  it('coerces limit from the query string', () => {
    expect(dataOf({ limit: '25' }).limit).toBe(25);
  });

  it('accepts the limit bounds 1 and 100', () => {
    expect(dataOf({ limit: '1' }).limit).toBe(1);
    expect(dataOf({ limit: '100' }).limit).toBe(100);
  });

  it.each(['0', '101', '-1', '2.5', 'ten'])('rejects limit %s', (limit) => {
    expect(issuePaths({ limit })).toEqual([['limit']]);
  });

  it('splits exclude on commas into productIds, trimming blanks and dropping empty entries', () => {
    expect(dataOf({ exclude: 'p1, p2,,p3 ,' }).exclude).toEqual(['p1', 'p2', 'p3']);
  });

  it('treats an empty exclude as no exclusions', () => {
    expect(dataOf({ exclude: '' }).exclude).toEqual([]);
  });

  it('rejects exclude containing an invalid productId, naming it', () => {
    const result = parseQuery({ exclude: 'p1,p#2' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message)).toEqual(['exclude contains an invalid productId: p#2']);
  });

  it('keeps a category filter', () => {
    expect(dataOf({ category: 'shoes' }).category).toBe('shoes');
  });

  it('rejects an empty category', () => {
    expect(issuePaths({ category: '' })).toEqual([['category']]);
  });

  it('rejects an unknown query key', () => {
    const result = parseQuery({ limit: '5', sort: 'price' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('sort');
  });
});

describe('similarQuerySchema', () => {
  it('defaults limit to 10 and rejects 0', () => {
    expect(similarQuerySchema.parse({})).toEqual({ limit: 10 });
    expect(similarQuerySchema.safeParse({ limit: '0' }).success).toBe(false);
  });
});

describe('userIdParamsSchema', () => {
  it('accepts a userId of the id alphabet and rejects one outside it', () => {
    expect(userIdParamsSchema.safeParse({ userId: 'u42@shop' }).success).toBe(true);
    expect(userIdParamsSchema.safeParse({ userId: 'u 42' }).success).toBe(false);
  });
});
