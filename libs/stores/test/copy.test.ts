import { describe, expect, it } from 'vitest';
import { copyOutBatches, copyRows } from '../src/copy.js';
import { pool, useMigratedPostgres } from './migrated-postgres.js';

useMigratedPostgres();

/** Every row of a COPY read, in order. */
async function readAll(query: string): Promise<Array<Array<string | null>>> {
  const rows: Array<Array<string | null>> = [];
  for await (const batch of copyOutBatches(pool, query)) rows.push(...batch);
  return rows;
}

describe('COPY in and out', () => {
  it('gives back what was written: separators, backslashes, nulls and characters of every width, over many chunks', async () => {
    await pool.query('CREATE TABLE copy_round_trip (n int PRIMARY KEY, a text, b text)');
    // Rows long enough that the server's chunks end inside rows, and inside multi-byte characters.
    const awkward = ['tab\there', 'line\nbreak', 'cr\rreturn', 'back\\slash', '\\N', 'ünïcødé', '漢字かな', '🛒 cart', ''];
    const written = Array.from({ length: 3000 }, (_, n) => [
      n,
      `${awkward[n % awkward.length]}${'·'.repeat(n % 97)}`,
      n % 5 === 0 ? null : `${'🧺'.repeat(n % 13)}\\${n}`,
    ]);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      expect(await copyRows(client, 'copy_round_trip', ['n', 'a', 'b'], written)).toBe(written.length);
      await client.query('COMMIT');
    } finally {
      client.release();
    }

    const read = await readAll('SELECT n, a, b FROM copy_round_trip ORDER BY n');
    expect(read).toEqual(written.map(([n, a, b]) => [String(n), a, b]));
    const { rows } = await pool.query<{ a: string; b: string | null }>('SELECT a, b FROM copy_round_trip WHERE n = 4');
    // What Postgres holds is the text itself ('\N' as two characters, not a null).
    expect(rows[0]).toEqual({ a: `\\N${'·'.repeat(4)}`, b: `${'🧺'.repeat(4)}\\4` });
  });

  it('reads nothing from an empty result, and one row with a null', async () => {
    expect(await readAll('SELECT 1 WHERE false')).toEqual([]);
    expect(await readAll(`SELECT 'only', NULL::text`)).toEqual([['only', null]]);
  });
});
