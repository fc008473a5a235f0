import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import type { PgClient, PgPool } from '@lambdarec/clients';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

/**
 * Bulk writes and streaming reads with COPY in its text format. A batch run writes millions of
 * rows: COPY takes them in one stream, where INSERT ... unnest needs a round trip and a parse of
 * every parameter array per thousand rows. Reading with COPY streams with backpressure, so a shard
 * holds one user's rows at a time, never a table.
 */

export type CopyValue = string | number | boolean | null;

// COPY text format: backslash escapes for the separators and for the backslash itself; \N is null.
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeField = (value: CopyValue): string => {
  if (value === null) return '\\N';
  const text = String(value);
  return /[\\\n\r\t]/.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!) : text;
};

const UNESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v' };
const unescapeField = (field: string): string | null => {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/g, (_, c: string) => UNESCAPES[c] ?? c);
};

/** Writes rows into `table` on `client` (inside the caller's transaction); returns how many. */
export async function copyRows(
  client: PgClient,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly CopyValue[]> | AsyncIterable<readonly CopyValue[]>,
): Promise<number> {
  let count = 0;
  async function* lines() {
    // ~64 KiB chunks: one write per row would spend its time in stream bookkeeping.
    let chunk = '';
    for await (const row of rows) {
      chunk += `${row.map(escapeField).join('\t')}\n`;
      count++;
      if (chunk.length >= 65_536) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk.length > 0) yield chunk;
  }
  await pipeline(Readable.from(lines()), client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
  return count;
}

/**
 * Streams the rows of a query (no parameters: COPY takes none, so callers only interpolate values
 * they validated) as arrays of text fields, null for SQL NULL, handed over a group at a time: the
 * rows that each piece of the stream completes. A run reads millions of rows, and one `yield` per
 * row cost more than splitting it (ADR 008).
 */
export async function* copyOutChunks(pool: PgPool, query: string): AsyncGenerator<Array<Array<string | null>>> {
  const client = await pool.connect();
  let finished = false;
  try {
    // A stream is read at the consumer's pace: parallel workers would only take CPU from it (and,
    // on a small machine, from the consumer itself). Inside a transaction so the setting ends with it.
    await client.query('BEGIN READ ONLY');
    await client.query('SET LOCAL max_parallel_workers_per_gather = 0');
    yield* copyTextRows(client.query(copyTo(`COPY (${query}) TO STDOUT`)) as AsyncIterable<Buffer>);
    await client.query('COMMIT');
    finished = true;
  } finally {
    // An error, or a consumer that stopped early, leaves the connection mid-COPY: destroy it.
    client.release(!finished);
  }
}

/**
 * The rows of COPY's text format arriving as pieces of bytes, the rows each piece completes
 * together. A piece may end anywhere: inside a row, an escape or a multi-byte character (the
 * decoder keeps its partial bytes).
 */
export async function* copyTextRows(pieces: AsyncIterable<Buffer>): AsyncGenerator<Array<Array<string | null>>> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for await (const piece of pieces) {
    const lines = (carry + decoder.write(piece)).split('\n');
    carry = lines.pop()!;
    if (lines.length > 0) yield lines.map(fieldsOf);
  }
  carry += decoder.end();
  if (carry.length > 0) yield [fieldsOf(carry)];
}

/** One COPY line's fields. Only a line with a backslash holds an escape or a null (\N). */
function fieldsOf(line: string): Array<string | null> {
  const fields: Array<string | null> = line.split('\t');
  if (line.includes('\\')) for (let i = 0; i < fields.length; i++) fields[i] = unescapeField(fields[i]!);
  return fields;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A run id as an SQL literal, for COPY queries; anything but a UUID is refused. */
export function uuidLiteral(value: string): string {
  if (!UUID.test(value)) throw new TypeError(`not a UUID: ${JSON.stringify(value)}`);
  return `'${value}'`;
}
