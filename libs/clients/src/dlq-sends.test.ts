import { randomBytes } from 'node:crypto';
import { DLQ_HEADERS } from '@lambdarec/contracts';
import { describe, expect, it } from 'vitest';
import { dlqRecordBytes, planDlqSends, type DeadLetter } from './dlq-sends.js';

const limits = { maxRecordBytes: 10_000, maxSendBytes: 2_500 };

const letter = (value: Buffer | null, offset: number, reason = 'not JSON'): DeadLetter => ({
  key: Buffer.from('u1'),
  value,
  headers: { 'trace-id': 'abc' },
  dlqHeaders: { [DLQ_HEADERS.reason]: reason, [DLQ_HEADERS.sourceOffset]: String(offset) },
});

const offsetsOf = (records: Array<{ headers: Record<string, unknown> }>) => records.map((r) => Number(r.headers[DLQ_HEADERS.sourceOffset]));

describe('planDlqSends', () => {
  it('groups dead letters into sends no larger than the send budget, in their order, with the DLQ headers added', async () => {
    const letters = Array.from({ length: 100 }, (_, i) => letter(Buffer.alloc(200, 'x'), i));
    const sends = await planDlqSends(letters, limits);

    expect(sends.length).toBeGreaterThan(1);
    for (const send of sends) {
      expect(send.compressed).toBe(false);
      expect(send.records.reduce((sum, r) => sum + dlqRecordBytes(r), 0)).toBeLessThanOrEqual(limits.maxSendBytes);
    }
    const records = sends.flatMap((send) => send.records);
    expect(offsetsOf(records)).toEqual(letters.map((_, i) => i));
    expect(records[0]!.headers).toMatchObject({ 'trace-id': 'abc', [DLQ_HEADERS.reason]: 'not JSON' });
  });

  it('sends a record over the send budget alone, uncompressed while it fits the record limit, compressed when that makes it fit', async () => {
    const sends = await planDlqSends(
      [
        letter(Buffer.alloc(10, 'a'), 0),
        letter(Buffer.alloc(5_000, 'b'), 1),
        letter(Buffer.alloc(50_000, 'c'), 2),
        letter(Buffer.alloc(10, 'd'), 3),
      ],
      limits,
    );

    expect(sends.map((s) => [offsetsOf(s.records), s.compressed])).toEqual([
      [[0], false],
      [[1], false],
      [[2], true],
      [[3], false],
    ]);
    expect(sends[2]!.records[0]!.value).toEqual(Buffer.alloc(50_000, 'c'));
  });

  it('sends a record too large even compressed without its value and original headers, with their size and the key kept', async () => {
    const [send] = await planDlqSends([letter(randomBytes(20_000), 7)], limits);

    expect(send!.compressed).toBe(false);
    const [record] = send!.records;
    expect(record!.value).toBeNull();
    expect(record!.key).toEqual(Buffer.from('u1'));
    expect(record!.headers['trace-id']).toBeUndefined();
    expect(record!.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'not JSON',
      [DLQ_HEADERS.sourceOffset]: '7',
      [DLQ_HEADERS.omittedBytes]: String(2 + 20_000 + 'trace-id'.length + 3),
    });
    expect(dlqRecordBytes(record!)).toBeLessThanOrEqual(limits.maxRecordBytes);
  });

  it('cuts a reason of thousands of issues, so that it cannot make a dead letter too large', async () => {
    const [send] = await planDlqSends([letter(Buffer.from('{}'), 0, 'event: unknown key; '.repeat(10_000))], limits);
    const reason = String(send!.records[0]!.headers[DLQ_HEADERS.reason]);
    expect(reason.length).toBeLessThan(2_100);
    expect(reason).toMatch(/… \(198000 more characters\)$/);
  });
});
