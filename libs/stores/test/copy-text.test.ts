import { describe, expect, it } from 'vitest';
import { copyTextRows } from '../src/copy.js';

/** COPY's text format as Postgres writes it: escapes for the separators and the backslash, \N for null. */
const SAMPLE = [
  'plain\tfields\tonly',
  'tab\\there\t\\N\tback\\\\slash',
  '',
  '🧺 basket\t漢字\tends in \\\\',
  '\\b\\f\\v\t\\n\\r\t\\\\N',
  'ünïcødé\t\t🛒',
].join('\n');
const ROWS = [
  ['plain', 'fields', 'only'],
  ['tab\there', null, 'back\\slash'],
  [''],
  ['🧺 basket', '漢字', 'ends in \\'],
  ['\b\f\v', '\n\r', '\\N'],
  ['ünïcødé', '', '🛒'],
];

async function rowsOf(pieces: Buffer[]): Promise<Array<Array<string | null>>> {
  const rows: Array<Array<string | null>> = [];
  async function* stream() {
    yield* pieces;
  }
  for await (const group of copyTextRows(stream())) rows.push(...group);
  return rows;
}

describe('copyTextRows', () => {
  const bytes = Buffer.from(`${SAMPLE}\n`, 'utf8');

  it('reads every row whole, wherever the stream is cut in two (inside an escape, a character or at a newline)', async () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(await rowsOf([bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at byte ${cut}`).toEqual(ROWS);
    }
  });

  it('reads every row whole from pieces of one byte each', async () => {
    expect(await rowsOf([...bytes].map((byte) => Buffer.from([byte])))).toEqual(ROWS);
  });

  it('reads a last row that has no newline after it', async () => {
    expect(await rowsOf([Buffer.from('a\tb\nc', 'utf8')])).toEqual([['a', 'b'], ['c']]);
  });
});
