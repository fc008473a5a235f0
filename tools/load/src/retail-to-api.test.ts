import { describe, expect, it } from 'vitest';
import { catalogOf, chunks, decideRetry, donePrefix, eventIdFor, MAX_ATTEMPTS, nameBasedUuid, purchaseEventOf } from './retail-to-api.js';

describe('load mapping (pure)', () => {
  const line = {
    invoice: '536365',
    productId: '85123A',
    description: 'WHITE HANGING HEART T-LIGHT HOLDER',
    quantity: 6,
    at: Date.parse('2010-12-01T08:26:00Z'),
    unitPrice: 2.55,
    customerId: '17850',
    line: 1,
  };

  it('derives name-based UUIDs (RFC 9562 v5) and so the same eventId for the same invoice line', () => {
    expect(nameBasedUuid('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(eventIdFor(line)).toBe(eventIdFor({ ...line }));
    expect(eventIdFor(line)).not.toBe(eventIdFor({ ...line, line: 2 }));
  });

  it('an invoice line becomes a purchase by its customer at its time, worth quantity × price in pence', () => {
    expect(purchaseEventOf(line)).toEqual({
      eventId: eventIdFor(line),
      userId: '17850',
      type: 'purchase',
      productId: '85123A',
      timestamp: '2010-12-01T08:26:00.000Z',
      value: 15.3,
    });
  });

  it('the catalog takes each product’s latest price and latest non-empty title, and no category', () => {
    const later = { ...line, at: line.at + 60_000, line: 5, unitPrice: 2.65, description: '' };
    expect(catalogOf([later, line])).toEqual([{ productId: '85123A', title: 'WHITE HANGING HEART T-LIGHT HOLDER', price: 2.65 }]);
    expect(catalogOf([{ ...line, description: '' }])).toEqual([{ productId: '85123A', price: 2.55 }]);
  });

  it('retries 429 after Retry-After, 5xx and lost answers with backoff, and stops on other 4xx', () => {
    expect(decideRetry(202, 1, null)).toEqual({ action: 'done' });
    expect(decideRetry(429, 1, '17')).toEqual({ action: 'retry', delayMs: 17_000, rateLimited: true });
    expect(decideRetry(429, 50, null)).toMatchObject({ action: 'retry', rateLimited: true });
    expect(decideRetry(503, 1, '5')).toEqual({ action: 'retry', delayMs: 5_000, rateLimited: false });
    expect(decideRetry(undefined, 3, null)).toEqual({ action: 'retry', delayMs: 2_000, rateLimited: false });
    expect(decideRetry(503, MAX_ATTEMPTS, null)).toEqual({ action: 'stop' });
    expect(decideRetry(400, 1, null)).toEqual({ action: 'stop' });
    expect(decideRetry(401, 1, null)).toEqual({ action: 'stop' });
  });

  it('cuts into requests and counts the finished prefix', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(donePrefix(new Set([0, 1, 3]))).toBe(2);
    expect(donePrefix(new Set([1, 2]))).toBe(0);
  });
});
