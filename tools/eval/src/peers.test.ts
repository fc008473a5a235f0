import { describe, expect, it } from 'vitest';
import { parsePeerOutput, peerArguments, serialiseTrain, serialiseUsers } from './peers.js';

const files = { train: '/tmp/x/TRAIN.tsv', users: '/tmp/x/USERS.txt', out: '/tmp/x/OUT.json' };

describe('serialiseTrain', () => {
  it('writes one tab-separated line per pair, each ending in a newline', () => {
    expect(
      serialiseTrain([
        ['17850', '85123A', 3],
        ['c d', 'é/ü', 1.5],
      ]),
    ).toBe('17850\t85123A\t3\nc d\té/ü\t1.5\n');
  });

  it('refuses ids that would break the TSV: tabs, line breaks, empty', () => {
    expect(() => serialiseTrain([['a\tb', 'p', 1]])).toThrow(/userId/);
    expect(() => serialiseTrain([['u', 'p\n', 1]])).toThrow(/productId/);
    expect(() => serialiseTrain([['u', 'p\r', 1]])).toThrow(/productId/);
    expect(() => serialiseTrain([['', 'p', 1]])).toThrow(/empty userId/);
  });

  it('refuses counts that are not finite and positive, and an empty training set', () => {
    expect(() => serialiseTrain([['u', 'p', 0]])).toThrow(/count/);
    expect(() => serialiseTrain([['u', 'p', -1]])).toThrow(/count/);
    expect(() => serialiseTrain([['u', 'p', Number.NaN]])).toThrow(/count/);
    expect(() => serialiseTrain([])).toThrow(/no training rows/);
  });
});

describe('serialiseUsers', () => {
  it('writes one userId per line and refuses a line break inside one', () => {
    expect(serialiseUsers(['a', 'b c'])).toBe('a\nb c\n');
    expect(serialiseUsers([])).toBe('');
    expect(() => serialiseUsers(['a\nb'])).toThrow(/userId/);
  });
});

describe('peerArguments', () => {
  it('passes the files, the model, each parameter as --name value, and top (20 when left out)', () => {
    expect(peerArguments({ model: 'bm25', params: { k: 1000, k1: 1.2 } }, files)).toEqual([
      '--train',
      files.train,
      '--users',
      files.users,
      '--out',
      files.out,
      '--model',
      'bm25',
      '--k',
      '1000',
      '--k1',
      '1.2',
      '--top',
      '20',
    ]);
    expect(peerArguments({ model: 'als', params: { alpha: 40, seed: 7 }, top: 5 }, files).slice(8)).toEqual([
      '--alpha',
      '40',
      '--seed',
      '7',
      '--top',
      '5',
    ]);
  });

  it('refuses a parameter of the other model, an unknown model, a non-finite value and a bad top', () => {
    expect(() => peerArguments({ model: 'bm25', params: { factors: 64 } }, files)).toThrow(/bm25 takes no parameter "factors"/);
    expect(() => peerArguments({ model: 'knn' as 'bm25', params: {} }, files)).toThrow(/unknown model/);
    expect(() => peerArguments({ model: 'als', params: { alpha: Number.POSITIVE_INFINITY } }, files)).toThrow(/alpha/);
    expect(() => peerArguments({ model: 'als', params: {}, top: 0 }, files)).toThrow(/top/);
    expect(() => peerArguments({ model: 'als', params: {}, top: 2.5 }, files)).toThrow(/top/);
  });
});

describe('parsePeerOutput', () => {
  it('reads the model, params, training time and the ordered lists per user', () => {
    const output = parsePeerOutput(
      JSON.stringify({
        model: 'als',
        params: { factors: 128, top: 2 },
        trainSeconds: 1.25,
        recommendations: { u1: ['p2', 'p1'], u2: [] },
      }),
    );
    expect(output.model).toBe('als');
    expect(output.params).toEqual({ factors: 128, top: 2 });
    expect(output.trainSeconds).toBe(1.25);
    expect([...output.recommendations]).toEqual([
      ['u1', ['p2', 'p1']],
      ['u2', []],
    ]);
  });

  it('refuses a malformed file instead of reading it as an empty answer', () => {
    const valid = { model: 'bm25', params: {}, trainSeconds: 0.5, recommendations: {} };
    expect(() => parsePeerOutput('{')).toThrow(/not JSON/);
    expect(() => parsePeerOutput('[]')).toThrow(/not an object/);
    expect(() => parsePeerOutput(JSON.stringify({ ...valid, model: 'svd' }))).toThrow(/model/);
    expect(() => parsePeerOutput(JSON.stringify({ ...valid, params: { k: '1' } }))).toThrow(/params/);
    expect(() => parsePeerOutput(JSON.stringify({ ...valid, trainSeconds: null }))).toThrow(/trainSeconds/);
    expect(() => parsePeerOutput(JSON.stringify({ ...valid, recommendations: [] }))).toThrow(/recommendations/);
    expect(() => parsePeerOutput(JSON.stringify({ ...valid, recommendations: { u: [1] } }))).toThrow(/"u"/);
  });
});
