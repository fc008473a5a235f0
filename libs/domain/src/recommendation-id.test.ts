import { describe, expect, it } from 'vitest';
import { impressionEventInputSchema } from '@lambdarec/contracts';
import { coinsOf, decodeRecommendationId, encodeRecommendationId, recommendationIdRange, teamAt } from './recommendation-id.js';
import { seededRandom } from './seeded-random.js';

const randomBytes = (seed: number): Uint8Array => {
  const next = seededRandom(seed);
  return Uint8Array.from({ length: 16 }, () => Math.floor(next() * 256));
};

describe('recommendationId', () => {
  it('is a UUID that the event schema accepts, carrying its tag, variant and interleaving layout', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = randomBytes(seed);
      const parts = { tag: (seed * 331) % 65536, variantIndex: seed % 16, aloneFrom: seed % 101, continuingTeam: (seed % 2) as 0 | 1 };
      const id = encodeRecommendationId(random, parts);
      expect(impressionEventInputSchema.shape.recommendationId.safeParse(id).success).toBe(true);
      expect(decodeRecommendationId(id)).toEqual({ ...parts, coins: coinsOf(random) });
    }
  });

  it('says "never alone" by leaving aloneFrom out', () => {
    const decoded = decodeRecommendationId(encodeRecommendationId(randomBytes(7), { tag: 3, variantIndex: 1 }));
    expect(decoded?.aloneFrom).toBeUndefined();
    expect(decoded?.continuingTeam).toBeUndefined();
  });

  it('is not ours unless version 8: a random v4 UUID decodes to nothing', () => {
    expect(decodeRecommendationId('3f0e8d54-2b1c-4e6a-9d7f-0a1b2c3d4e5f')).toBeUndefined();
    expect(decodeRecommendationId('not a uuid')).toBeUndefined();
  });

  it("puts an experiment's ids in one UUID range, in Postgres' byte order", () => {
    const [lo, hi] = recommendationIdRange(0x01a2);
    const id = encodeRecommendationId(randomBytes(3), { tag: 0x01a2, variantIndex: 15 });
    expect(lo <= id && id <= hi).toBe(true);
    const other = encodeRecommendationId(randomBytes(3), { tag: 0x01a3, variantIndex: 0 });
    expect(other > hi).toBe(true);
  });

  it('refuses what does not fit', () => {
    expect(() => encodeRecommendationId(randomBytes(1), { tag: 65536, variantIndex: 0 })).toThrow(RangeError);
    expect(() => encodeRecommendationId(randomBytes(1), { tag: 1, variantIndex: 16 })).toThrow(RangeError);
    expect(() => encodeRecommendationId(new Uint8Array(8), { tag: 1, variantIndex: 0 })).toThrow(RangeError);
  });

  it('teamAt: in round k the coin picks first, and from aloneFrom on one team fills', () => {
    const coins = [1, 0, 1] as const;
    expect([0, 1, 2, 3, 4, 5].map((p) => teamAt({ coins: [...coins] }, p))).toEqual([1, 0, 0, 1, 1, 0]);
    expect([0, 1, 2, 3, 4].map((p) => teamAt({ coins: [...coins], aloneFrom: 3, continuingTeam: 0 }, p))).toEqual([1, 0, 0, 0, 0]);
  });
});
