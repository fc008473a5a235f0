import { describe, expect, it } from 'vitest';
import { parseEventsBody } from './event.js';
import { parseProductsBody } from './product.js';
import { unstorableTextReason } from './text.js';

const NOW = new Date('2025-03-01T12:00:00Z');
const issuesOfEvent = (overrides: Record<string, unknown>) => {
  const result = parseEventsBody({ userId: 'u1', type: 'view', productId: 'p1', ...overrides }, NOW);
  return result.ok ? [] : result.issues;
};
const issuesOfProduct = (overrides: Record<string, unknown>) => {
  const result = parseProductsBody([{ productId: 'p1', ...overrides }]);
  return result.ok ? [] : result.issues;
};

describe('unstorableTextReason', () => {
  it('accepts ordinary text, accents and emoji (a valid surrogate pair)', () => {
    for (const text of ['Shoes', 'Crème brûlée', 'mugs ☕', 'party 🎉']) expect(unstorableTextReason(text), text).toBeUndefined();
  });

  it('refuses NUL and other C0 control characters', () => {
    for (const text of ['a\u0000b', 'bell\u0007', 'esc\u001b[31m', 'cr\r'])
      expect(unstorableTextReason(text), JSON.stringify(text)).toMatch(/control characters/);
  });

  it('allows tab and newline only in free text', () => {
    expect(unstorableTextReason('two\nlines\ttabbed', { freeText: true })).toBeUndefined();
    expect(unstorableTextReason('two\nlines')).toMatch(/control characters/);
    expect(unstorableTextReason('nul\u0000', { freeText: true })).toMatch(/other than tab and newline/);
  });

  it('refuses lone surrogates, high or low', () => {
    expect(unstorableTextReason('a\ud83cb')).toMatch(/lone surrogate/);
    expect(unstorableTextReason('\udf89x')).toMatch(/lone surrogate/);
    expect(unstorableTextReason('end\ud83c')).toMatch(/lone surrogate/);
  });
});

describe('events downstream can store', () => {
  it('answers a NUL in category with an issue on that field', () => {
    expect(issuesOfEvent({ category: 'shoe\u0000s' })).toEqual([{ path: ['category'], message: 'must not contain control characters' }]);
  });

  it('refuses a lone surrogate in sessionId', () => {
    expect(issuesOfEvent({ sessionId: 's\ud800' })[0]?.path).toEqual(['sessionId']);
  });

  it('refuses a timestamp before 2000 and accepts 2000-01-01 itself', () => {
    expect(issuesOfEvent({ timestamp: '1970-01-01T00:00:00Z' })).toEqual([
      { path: ['timestamp'], message: 'timestamp must be on or after 2000-01-01' },
    ]);
    expect(issuesOfEvent({ timestamp: '2000-01-01T00:00:00Z' })).toEqual([]);
  });

  it('refuses a value the database cannot store (subnormal or absurdly large)', () => {
    expect(issuesOfEvent({ value: 5e-324 })[0]?.path).toEqual(['value']);
    expect(issuesOfEvent({ value: 1e300 })[0]?.path).toEqual(['value']);
    expect(issuesOfEvent({ value: 0 })).toEqual([]);
    expect(issuesOfEvent({ value: 19.99 })).toEqual([]);
  });
});

describe('products downstream can store', () => {
  it('keeps newlines and tabs in a title but refuses other control characters there', () => {
    expect(issuesOfProduct({ title: 'Mug\n\tblue' })).toEqual([]);
    expect(issuesOfProduct({ title: 'Mug\u0000' })).toEqual([
      { path: [0, 'title'], message: 'must not contain control characters other than tab and newline' },
    ]);
  });

  it('refuses a category with a newline and an extreme price, naming each field', () => {
    expect(issuesOfProduct({ category: 'a\nb', price: 5e-324 }).map((issue) => issue.path)).toEqual([
      [0, 'category'],
      [0, 'price'],
    ]);
  });
});
