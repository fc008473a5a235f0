import { describe, expect, it } from 'vitest';
import { CustomerNeighbourIndex, CustomerVectorsBuilder, type CustomerNeighbourPolicy } from './customer-neighbours.js';
import { PersonalScores } from './personal-scores.js';
import { seededRandom } from './seeded-random.js';

const products = ['a', 'b', 'c', 'd', 'e'];
const numberOf = new Map(products.map((id, n) => [id, n]));
const policy: CustomerNeighbourPolicy = { customerNeighbours: 2, ownRebuyWeight: 0.2, neighbourQueryProducts: 10, neighbourPostings: 100 };

function indexOf(customers: Record<string, Record<string, number>>, override: Partial<CustomerNeighbourPolicy> = {}) {
  const builder = new CustomerVectorsBuilder();
  for (const [id, vector] of Object.entries(customers)) {
    const entries = Object.entries(vector);
    builder.add(
      id,
      entries.map(([p]) => numberOf.get(p)!),
      entries.map(([, v]) => v),
    );
  }
  return new CustomerNeighbourIndex(products, builder.build(), { ...policy, ...override });
}
const scores = (index: CustomerNeighbourIndex, id: string, own: Record<string, number>) =>
  Object.fromEntries([...index.blend(id, new Map(Object.entries(own))).scores].sort((x, y) => (x[0] < y[0] ? -1 : 1)));

describe('CustomerNeighbourIndex', () => {
  it("blends α × the user's vector with the mean of the k nearest customers' (Euclidean), leaving the user out", () => {
    const index = indexOf({
      me: { a: 1 },
      near1: { a: 1, b: 0.5 }, // distance² 0.25
      near2: { a: 0.5, c: 0.5 }, // 0.25 + 0.25 = 0.5
      far: { a: 0.1, d: 2 }, // 0.81 + 4
    });
    // k 2: near1 and near2, each weighing (1 − 0.2) / 2 = 0.4.
    const blended = scores(index, 'me', { a: 1 });
    expect(blended['a']).toBeCloseTo(0.2 + 0.4 * 1 + 0.4 * 0.5, 12);
    expect(blended['b']).toBeCloseTo(0.4 * 0.5, 12);
    expect(blended['c']).toBeCloseTo(0.4 * 0.5, 12);
    expect(blended['d']).toBeUndefined();
  });

  it('finds only customers who share a product with the user, and names the shared product they weigh most', () => {
    const index = indexOf({ me: { a: 1, b: 1 }, other: { b: 1, e: 1 }, stranger: { d: 0.01 } });
    const blend = index.blend(
      'me',
      new Map([
        ['a', 1],
        ['b', 1],
      ]),
    );
    expect([...blend.scores.keys()].sort()).toEqual(['a', 'b', 'e']);
    expect(blend.sharedMost).toBe('b');
  });

  it('a user with no purchases gets nothing, and ties between customers go to the one listed first', () => {
    const index = indexOf({ me: { a: 1 }, first: { a: 1, b: 1 }, second: { a: 1, c: 1 } }, { customerNeighbours: 1 });
    expect(index.blend('nobody', new Map()).scores.size).toBe(0);
    expect(Object.keys(scores(index, 'me', { a: 1 })).sort()).toEqual(['a', 'b']);
  });

  it("keeps only a product's strongest holders to be found through it (the postings cap)", () => {
    const customers = { me: { a: 1 }, strong: { a: 0.9, b: 1 }, weak: { a: 0.1, c: 0.2 } };
    // a's two strongest holders: me (left out as myself) and strong.
    expect(Object.keys(scores(indexOf(customers, { neighbourPostings: 2 }), 'me', { a: 1 })).sort()).toEqual(['a', 'b']);
    expect(Object.keys(scores(indexOf(customers), 'me', { a: 1 })).sort()).toEqual(['a', 'b', 'c']);
  });

  it('leaves out zero weights, which would otherwise count a customer twice and misjudge its distance', () => {
    const index = indexOf({ me: { a: 1, b: 1 }, near: { a: 1, b: 1, d: 0.1 }, zeroed: { a: 0, b: 0, c: 5 } }, { customerNeighbours: 1 });
    expect(Object.keys(scores(index, 'me', { a: 1, b: 1 })).sort()).toEqual(['a', 'b', 'd']);
  });

  it("with α 1 gives the user's own vector alone", () => {
    const index = indexOf({ me: { a: 1 }, other: { a: 1, b: 1 } }, { ownRebuyWeight: 1 });
    expect(scores(index, 'me', { a: 1 })).toEqual({ a: 1 });
  });

  it('gives the same blend however often it is asked (its scratch space is cleared)', () => {
    const index = indexOf({ me: { a: 1, c: 0.3 }, x: { a: 0.4, b: 1 }, y: { c: 1, d: 1 } });
    const first = scores(index, 'me', { a: 1, c: 0.3 });
    scores(index, 'x', { a: 0.4, b: 1 });
    expect(scores(index, 'me', { a: 1, c: 0.3 })).toEqual(first);
  });
});

describe('CustomerNeighbourIndex against its definition', () => {
  /**
   * The blend written out as its comment defines it, by brute force: every other customer who
   * shares a product with the user, by Euclidean distance (ties: the customer listed first), the
   * k nearest averaged, α × own added. Integer weights keep the distances exact, so the order of
   * the neighbours cannot depend on how the sums were arranged.
   */
  function definition(vectors: ReadonlyArray<Map<string, number>>, user: number, alpha: number, k: number): Map<string, number> {
    const own = vectors[user]!;
    const candidates = vectors
      .map((vector, index) => ({ vector, index }))
      .filter(({ vector, index }) => index !== user && [...own.keys()].some((p) => vector.has(p)))
      .map(({ vector, index }) => {
        let distance = 0;
        for (const p of new Set([...own.keys(), ...vector.keys()])) distance += ((own.get(p) ?? 0) - (vector.get(p) ?? 0)) ** 2;
        return { vector, index, distance };
      })
      .sort((x, y) => x.distance - y.distance || x.index - y.index)
      .slice(0, k);
    const blended = new Map<string, number>();
    for (const [p, value] of own) blended.set(p, alpha * value);
    for (const { vector } of candidates)
      for (const [p, value] of vector) blended.set(p, (blended.get(p) ?? 0) + ((1 - alpha) / candidates.length) * value);
    return blended;
  }

  it('gives every user of a random shop the blend its definition gives, user after user through one reused output', () => {
    const random = seededRandom(19);
    const catalogue = Array.from({ length: 12 }, (_, n) => `p${n}`);
    const vectors = Array.from({ length: 80 }, () => {
      const vector = new Map<string, number>();
      const size = 1 + Math.floor(random() * 5);
      while (vector.size < size) vector.set(catalogue[Math.floor(random() * catalogue.length)]!, 1 + Math.floor(random() * 4));
      return vector;
    });
    const builder = new CustomerVectorsBuilder();
    vectors.forEach((vector, index) =>
      builder.add(
        `u${index}`,
        [...vector.keys()].map((p) => catalogue.indexOf(p)),
        [...vector.values()],
      ),
    );
    const k = 5;
    const alpha = 0.3;
    const index = new CustomerNeighbourIndex(catalogue, builder.build(), {
      customerNeighbours: k,
      ownRebuyWeight: alpha,
      neighbourQueryProducts: 100,
      neighbourPostings: 1000,
    });
    const out = new PersonalScores();
    for (let user = 0; user < vectors.length; user++) {
      index.blendInto(`u${user}`, vectors[user]!, alpha, out);
      const expected = definition(vectors, user, alpha, k);
      const got = out.toMap();
      // The user's own products first, in their order; then what only the neighbours bring.
      expect([...got.keys()].slice(0, vectors[user]!.size)).toEqual([...vectors[user]!.keys()]);
      expect(new Set(got.keys())).toEqual(new Set(expected.keys()));
      for (const [p, value] of expected) expect(got.get(p)).toBeCloseTo(value, 12);
    }
  });
});
