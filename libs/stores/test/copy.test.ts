import { describe, expect, it } from 'vitest';
import { copyOutChunks, copyRows } from '../src/copy.js';
import { pool, useMigratedPostgres } from './migrated-postgres.js';

useMigratedPostgres();

/** Every row of a COPY read, in order, and how many groups they came in. */
async function readAll(query: string): Promise<{ rows: Array<Array<string | null>>; groups: number }> {
  const rows: Array<Array<string | null>> = [];
  let groups = 0;
  for await (const chunk of copyOutChunks(pool, query)) {
    rows.push(...chunk);
    groups++;
  }
  return { rows, groups };
}

describe('COPY in and out', () => {
  it('gives back what was written: separators, backslashes, nulls and characters of every width, over many chunks', async () => {
    await pool.query('CREATE TABLE copy_round_trip (n int PRIMARY KEY, a text, b text)');
    // Rows long enough that the stream's pieces end inside rows, and inside multi-byte characters;
    // a third of them plain text, which is split without unescaping.
    const awkward = [
      'tab\there',
      'line\nbreak',
      'cr\rreturn',
      'back\\slash',
      '\\N',
      'ends in \\',
      '\b\f\v',
      'ünïcødé',
      '漢字かな',
      '🛒 cart',
      '',
    ];
    const written = Array.from({ length: 3000 }, (_, n) =>
      n % 3 === 0
        ? [n, `plain ${'x'.repeat(n % 89)}`, `${'🧺'.repeat(n % 13)}`]
        : [n, `${'·'.repeat(n % 97)}${awkward[n % awkward.length]}`, n % 5 === 0 ? null : `${'🧺'.repeat(n % 13)}\\${n}`],
    );
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      expect(await copyRows(client, 'copy_round_trip', ['n', 'a', 'b'], written)).toBe(written.length);
      await client.query('COMMIT');
    } finally {
      client.release();
    }

    const { rows: read, groups } = await readAll('SELECT n, a, b FROM copy_round_trip ORDER BY n');
    expect(read).toEqual(written.map(([n, a, b]) => [String(n), a, b]));
    expect(groups).toBeGreaterThan(1);
    const { rows } = await pool.query<{ a: string; b: string | null }>('SELECT a, b FROM copy_round_trip WHERE n = 4');
    // What Postgres holds is the text itself ('\\N' as two characters, not a null).
    expect(rows[0]).toEqual({ a: `${'·'.repeat(4)}\\N`, b: `${'🧺'.repeat(4)}\\4` });
  });

  it('reads nothing from an empty result, one row with a null, and an empty field alone on its line', async () => {
    expect((await readAll('SELECT 1 WHERE false')).rows).toEqual([]);
    expect((await readAll(`SELECT 'only', NULL::text`)).rows).toEqual([['only', null]]);
    expect((await readAll(`SELECT '' UNION ALL SELECT 'x' ORDER BY 1`)).rows).toEqual([[''], ['x']]);
  });
});
