import { describe, expect, it } from 'vitest';
import { coinsOf, decodeRecommendationId, encodeRecommendationId, teamAt } from './recommendation-id.js';
import { seededRandom } from './seeded-random.js';
import { teamDraftInterleave } from './team-draft.js';

const same = (id: string) => id;

describe('teamDraftInterleave', () => {
  it('alternates by the coins, each team placing its best item not yet taken', () => {
    const { items, layout } = teamDraftInterleave(['a', 'b', 'c', 'd'], ['b', 'e', 'a', 'f'], 6, [0, 1, 0], same);
    expect(items).toEqual([
      { item: 'a', team: 0 },
      { item: 'b', team: 1 },
      { item: 'e', team: 1 },
      { item: 'c', team: 0 },
      { item: 'd', team: 0 },
      { item: 'f', team: 1 },
    ]);
    expect(layout.aloneFrom).toBeUndefined();
  });

  it('lets the other team fill once one has nothing new, and says where', () => {
    const { items, layout } = teamDraftInterleave(['a'], ['a', 'x', 'y', 'z'], 10, [0, 0, 0, 0, 0], same);
    expect(items.map((d) => [d.item, d.team])).toEqual([
      ['a', 0],
      ['x', 1],
      ['y', 1],
      ['z', 1],
    ]);
    expect(layout).toMatchObject({ aloneFrom: 2, continuingTeam: 1 });
  });

  it('writes a layout from which the recommendationId alone gives every position its team', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = seededRandom(seed);
      const random = Uint8Array.from({ length: 16 }, () => Math.floor(next() * 256));
      const pool = Array.from({ length: 40 }, (_, i) => `p${i}`);
      const shuffled = (n: number) => [...pool].sort(() => next() - 0.5).slice(0, n);
      const baseline = shuffled(Math.floor(next() * 30));
      const challenger = shuffled(Math.floor(next() * 30));
      const limit = 1 + Math.floor(next() * 100);
      const { items, layout } = teamDraftInterleave(baseline, challenger, limit, coinsOf(random), same);
      const decoded = decodeRecommendationId(encodeRecommendationId(random, { tag: 9, variantIndex: 0, ...layout }))!;
      expect(items.map((_, position) => teamAt(decoded, position))).toEqual(items.map((d) => d.team));
      expect(new Set(items.map((d) => d.item)).size).toBe(items.length);
    }
  });

  it('gives each team the first position about half of the time', () => {
    let challengerFirst = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const next = seededRandom(seed);
      const random = Uint8Array.from({ length: 16 }, () => Math.floor(next() * 256));
      challengerFirst += teamDraftInterleave(['a', 'b'], ['c', 'd'], 2, coinsOf(random), same).items[0]!.team;
    }
    expect(challengerFirst / 2000).toBeGreaterThan(0.46);
    expect(challengerFirst / 2000).toBeLessThan(0.54);
  });
});
