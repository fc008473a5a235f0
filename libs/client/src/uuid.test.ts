import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { randomUuid } from './uuid.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomUuid', () => {
  it('uses randomUUID where the page has it', () => {
    expect(randomUuid({ randomUUID: () => 'from-crypto', getRandomValues: (array) => array })).toBe('from-crypto');
  });

  it('builds a version 4 UUID from getRandomValues on pages without randomUUID (plain http)', () => {
    const ids = Array.from({ length: 50 }, () => randomUuid({ getRandomValues: (array) => webcrypto.getRandomValues(array) }));
    for (const id of ids) expect(id).toMatch(V4);
    expect(new Set(ids).size).toBe(50);
  });
});
