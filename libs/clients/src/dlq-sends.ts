import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { DLQ_HEADERS } from '@lambdarec/contracts';
import type { IHeaders } from 'kafkajs';

const gzip = promisify(gzipCallback);

/** A record on its way to the DLQ: the source record's key, value and headers, and the DLQ's own headers. */
export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  /** Reason, source topic, partition and offset, consumer group. */
  dlqHeaders: Record<string, string>;
}

export interface DlqRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** One produce request to the DLQ: records that fit together, or one large record, gzip-compressed. */
export interface DlqSend {
  records: DlqRecord[];
  compressed: boolean;
}

export interface DlqLimits {
  /** The most bytes one record may take in the DLQ, below the topic's `max.message.bytes`. */
  maxRecordBytes: number;
  /** The most bytes of records sent together in one request. */
  maxSendBytes: number;
}

// Upper bounds of Kafka's record framing (format v2): the length, attributes, timestamp and offset
// deltas, key and value lengths and header count of a record; the two lengths of a header.
const RECORD_FRAMING_BYTES = 40;
const HEADER_FRAMING_BYTES = 10;
/** Keys are user ids (128 characters at most); a key much larger than that is not kept when a record is cut. */
const MAX_KEPT_KEY_BYTES = 1024;
/** A reason lists every issue of the record: one with thousands of unknown fields would make it as large as the record. */
const MAX_REASON_CHARS = 2000;

const sizeOf = (value: Buffer | string): number => (typeof value === 'string' ? Buffer.byteLength(value) : value.length);

function headerParts(headers: IHeaders): Array<Buffer | string> {
  return Object.entries(headers).flatMap(([name, value]) =>
    value === undefined ? [] : (Array.isArray(value) ? value : [value]).flatMap((one) => [name, one]),
  );
}

/** An upper bound of the bytes a record takes in a record batch, uncompressed. */
export function dlqRecordBytes({ key, value, headers }: DlqRecord): number {
  const parts = headerParts(headers);
  return (
    RECORD_FRAMING_BYTES +
    (key?.length ?? 0) +
    (value?.length ?? 0) +
    (parts.length / 2) * HEADER_FRAMING_BYTES +
    parts.reduce((sum, part) => sum + sizeOf(part), 0)
  );
}

/** About what the record takes gzip-compressed alone (kafkajs compresses the encoded batch with gzip's defaults). */
async function gzippedBytes({ key, value, headers }: DlqRecord): Promise<number> {
  const parts = [key, value, ...headerParts(headers)]
    .filter((part): part is Buffer | string => part !== null)
    .map((part) => (typeof part === 'string' ? Buffer.from(part) : part));
  const framing = RECORD_FRAMING_BYTES + (headerParts(headers).length / 2) * HEADER_FRAMING_BYTES;
  return (await gzip(Buffer.concat(parts))).length + framing;
}

const boundedReason = (reason: string): string =>
  reason.length <= MAX_REASON_CHARS
    ? reason
    : `${reason.slice(0, MAX_REASON_CHARS)}… (${reason.length - MAX_REASON_CHARS} more characters)`;

/**
 * Splits one batch's dead letters into DLQ sends that the broker takes, in their order. The broker
 * refuses a request whose batch exceeds the DLQ's `max.message.bytes` (MESSAGE_TOO_LARGE, which
 * kafkajs does not retry, so the consumer stopped): records go together up to `maxSendBytes`; a
 * record larger than that goes alone, gzip-compressed if it needs to be; and a record too large
 * even so goes without its value and original headers, with their size in a header. Its key, the
 * reason and the source offset still say which record it was, and the original stays on the source
 * topic until its retention: a consumer must not stop on one record that no DLQ could hold.
 */
export async function planDlqSends(letters: readonly DeadLetter[], { maxRecordBytes, maxSendBytes }: DlqLimits): Promise<DlqSend[]> {
  const sends: DlqSend[] = [];
  let together: DlqRecord[] = [];
  let togetherBytes = 0;
  const flush = () => {
    if (together.length > 0) sends.push({ records: together, compressed: false });
    together = [];
    togetherBytes = 0;
  };
  for (const { key, value, headers, dlqHeaders } of letters) {
    const ownHeaders = { ...dlqHeaders, [DLQ_HEADERS.reason]: boundedReason(dlqHeaders[DLQ_HEADERS.reason] ?? '') };
    const record: DlqRecord = { key, value, headers: { ...headers, ...ownHeaders } };
    const bytes = dlqRecordBytes(record);
    if (bytes <= maxSendBytes) {
      if (togetherBytes + bytes > maxSendBytes) flush();
      together.push(record);
      togetherBytes += bytes;
      continue;
    }
    flush();
    if (bytes <= maxRecordBytes) sends.push({ records: [record], compressed: false });
    else if ((await gzippedBytes(record)) <= maxRecordBytes) sends.push({ records: [record], compressed: true });
    else {
      const originalBytes = (key?.length ?? 0) + (value?.length ?? 0) + headerParts(headers).reduce((sum, part) => sum + sizeOf(part), 0);
      const keptKey = key !== null && key.length <= MAX_KEPT_KEY_BYTES ? key : null;
      sends.push({
        records: [{ key: keptKey, value: null, headers: { ...ownHeaders, [DLQ_HEADERS.omittedBytes]: String(originalBytes) } }],
        compressed: false,
      });
    }
  }
  flush();
  return sends;
}
