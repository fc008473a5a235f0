import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { UNDECODABLE_RECORD_HEADER } from '@lambdarec/contracts';
import kafkajs from 'kafkajs';

// lz4js and snappyjs are CommonJS without types; their few functions are typed here.
const require = createRequire(import.meta.url);
const lz4 = require('lz4js') as {
  compress(src: Uint8Array): Uint8Array;
  decompress(src: Uint8Array): Uint8Array;
  decompressBound(src: Uint8Array): number;
};
const snappy = require('snappyjs') as {
  compress(src: Uint8Array): Uint8Array;
  uncompress(src: Uint8Array, maxLength?: number): Uint8Array;
};
// Node's ESM loader cannot see these two among kafkajs' CommonJS exports: take them off the default export.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/**
 * A batch that its codec cannot decompress (the broker validates compressed batches when they are
 * produced, so this means damage after the fact). Normally its records are replaced by stand-ins
 * that go to the DLQ; when that is not possible the error is raised, marked retriable, so kafkajs
 * restarts the consumer (logged, counted, readiness says crash-looping) instead of stopping it.
 */
export class UndecodableBatchError extends Error {
  readonly retriable = true;
  constructor(codec: string, cause: unknown) {
    super(`a ${codec} batch could not be decompressed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'UndecodableBatchError';
  }
}

// Where kafkajs 2.2.4 hands a codec the compressed records: a slice of the fetched bytes that starts
// right after the record batch header (61 bytes, magic 2), whose last field is the record count.
const BATCH_HEADER_BYTES = 61;
const BATCH_LENGTH_AT = 8;
/** Bytes the batch length counts before the records: from the leader epoch to the record count. */
const BATCH_BODY_BEFORE_RECORDS = 49;
const MAX_STAND_INS = 100_000;
const MAGIC_AT = 16;
const LAST_OFFSET_DELTA_AT = 23;
const RECORDS_COUNT_AT = 57;

/** Zigzag LEB128, the varint of Kafka's record format. */
function varint(value: number): number[] {
  let n = (value << 1) ^ (value >> 31);
  const bytes: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (n !== 0);
  return bytes;
}

/**
 * Stand-ins for the records of a batch that cannot be decompressed: one per record the header
 * counts, at the same offsets, with no key or value and a header that gives the reason. They go
 * to the DLQ like any record that is not an event, so the partition moves past the batch instead
 * of failing on it forever. Undefined when the bytes around the slice are not a batch header.
 */
export function undecodableStandIns(compressed: Buffer, reason: string): Buffer | undefined {
  const header = batchHeader(compressed);
  if (header === undefined) return undefined;
  const { count, lastOffsetDelta } = header;
  const key = Buffer.from(UNDECODABLE_RECORD_HEADER);
  const value = Buffer.from(reason.slice(0, 500));
  const records: number[] = [];
  for (let i = 0; i < count; i++) {
    const offsetDelta = lastOffsetDelta - (count - 1) + i;
    const body = [
      0,
      ...varint(0),
      ...varint(offsetDelta),
      ...varint(-1),
      ...varint(-1),
      ...varint(1),
      ...varint(key.length),
      ...key,
      ...varint(value.length),
      ...value,
    ];
    records.push(...varint(body.length), ...body);
  }
  return Buffer.from(records);
}

/** The record count and last offset delta of the batch whose compressed records this slice holds. */
function batchHeader(compressed: Buffer): { count: number; lastOffsetDelta: number } | undefined {
  if (compressed.byteOffset < BATCH_HEADER_BYTES) return undefined;
  const header = Buffer.from(compressed.buffer, compressed.byteOffset - BATCH_HEADER_BYTES, BATCH_HEADER_BYTES);
  const count = header.readInt32BE(RECORDS_COUNT_AT);
  const lastOffsetDelta = header.readInt32BE(LAST_OFFSET_DELTA_AT);
  // The length field must cover exactly this slice: then these bytes are this batch's header. The
  // count must match the offsets (no gaps; a compacted batch is left to the retriable error) and
  // stay plausible, so a damaged field can neither skip real records nor exhaust memory.
  const batchLength = header.readInt32BE(BATCH_LENGTH_AT);
  if (header.readInt8(MAGIC_AT) !== 2 || batchLength !== BATCH_BODY_BEFORE_RECORDS + compressed.length) return undefined;
  if (count <= 0 || count > MAX_STAND_INS || count !== lastOffsetDelta + 1) return undefined;
  return { count, lastOffsetDelta };
}

/** Reads one zigzag varint at `at`: its value and where the next field starts (undefined past the end). */
function readVarint(buffer: Buffer, at: number): { value: number; next: number } | undefined {
  let result = 0;
  for (let shift = 0, i = at; i < buffer.length && shift < 35; shift += 7, i++) {
    const byte = buffer[i]!;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value: (result >>> 1) ^ -(result & 1), next: i + 1 };
  }
  return undefined;
}

/** Where the varint (or varlong) at `at` ends, without reading its value; undefined past the end. */
function skipVarint(buffer: Buffer, at: number, end: number): number | undefined {
  for (let i = at; i < end && i < at + 10; i++) if ((buffer[i]! & 0x80) === 0) return i + 1;
  return undefined;
}

/** Skips a varint-length-prefixed field (-1: null); undefined when it does not fit before `end`. */
function skipBytes(buffer: Buffer, at: number, end: number): number | undefined {
  const length = readVarint(buffer, at);
  if (length === undefined || length.value < -1) return undefined;
  const next = length.next + Math.max(0, length.value);
  return next <= end ? next : undefined;
}

/** Whether one record (attributes, timestamp and offset deltas, key, value, headers) fills [at, end) exactly. */
function recordIsWhole(buffer: Buffer, at: number, end: number): boolean {
  let i: number | undefined = at + 1; // attributes
  i = i < end ? skipVarint(buffer, i, end) : undefined; // timestamp delta
  i = i === undefined ? undefined : skipVarint(buffer, i, end); // offset delta
  i = i === undefined ? undefined : skipBytes(buffer, i, end); // key
  i = i === undefined ? undefined : skipBytes(buffer, i, end); // value
  const headers = i === undefined ? undefined : readVarint(buffer, i);
  if (headers === undefined || headers.value < 0) return false;
  i = headers.next;
  for (let h = 0; h < headers.value && i !== undefined; h++) {
    i = skipBytes(buffer, i, end);
    i = i === undefined ? undefined : skipBytes(buffer, i, end);
  }
  return i === end;
}

/**
 * Whether decompressed bytes hold as many well-formed records as the batch header counts. A
 * codec can "succeed" on damaged input and return garbage, which kafkajs would then fail to read.
 */
function recordsAreWhole(decompressed: Buffer, compressed: Buffer): boolean {
  const header = batchHeader(compressed);
  if (header === undefined) return true;
  let at = 0;
  for (let r = 0; r < header.count; r++) {
    const length = readVarint(decompressed, at);
    if (length === undefined || length.value <= 0 || length.next + length.value > decompressed.length) return false;
    if (!recordIsWhole(decompressed, length.next, length.next + length.value)) return false;
    at = length.next + length.value;
  }
  return true;
}

/**
 * The most one batch may decompress to, whatever its codec: 64 times the most a broker accepts by
 * default (1 MiB), far above what events compress by (5 to 20 times). A decompression bomb (1 GiB
 * of zeros is 1 MB as gzip, 32 KiB as zstd) is cut here and becomes stand-ins in the DLQ instead of
 * taking the process's memory. kafkajs decodes a fetch's batches one after another, so this also
 * bounds what decompressing one batch holds at a time.
 */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;
const tooLarge = (what: string, most = MAX_DECOMPRESSED_BYTES) =>
  new Error(
    `${what} more than ${most === MAX_DECOMPRESSED_BYTES ? `${most / (1024 * 1024)} MiB, the most a batch may hold` : `${most} bytes`}`,
  );

const guarded =
  (codec: string, decompress: (buffer: Buffer) => Buffer | Promise<Buffer>) =>
  async (buffer: Buffer): Promise<Buffer> => {
    try {
      const records = await decompress(buffer);
      if (!recordsAreWhole(records, buffer)) throw new Error('the decompressed records are damaged');
      return records;
    } catch (err) {
      const error = new UndecodableBatchError(codec, err);
      return undecodableStandIns(buffer, error.message) ?? Promise.reject(error);
    }
  };

/** What kafkajs asks of a codec: compress an encoder's buffer, decompress a record batch's payload. */
interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** LZ4 frames (Kafka ≥ 0.10 and librdkafka use the standard frame format). */
const lz4Codec: Codec = {
  compress: async ({ buffer }) => asBuffer(lz4.compress(buffer)),
  decompress: guarded('lz4', (buffer) => {
    // lz4js allocates what the frame claims up front: a damaged size field must not claim gigabytes.
    if (lz4.decompressBound(buffer) > MAX_DECOMPRESSED_BYTES) throw tooLarge('the frame claims');
    return asBuffer(lz4.decompress(buffer));
  }),
};

// The Java client frames snappy the way snappy-java's SnappyOutputStream does ("xerial"): a
// 16-byte header, then blocks each preceded by its big-endian length. librdkafka writes raw snappy.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

/**
 * Raw or xerial-framed snappy in, raw snappy out (what librdkafka and kafkajs codecs write). A snappy
 * block starts with the length it decompresses to, and snappyjs allocates that up front: refused
 * above `maxBytes`, and so is a xerial stream whose blocks add up to more.
 */
export function decompressSnappy(buffer: Buffer, maxBytes: number = MAX_DECOMPRESSED_BYTES): Buffer {
  const uncompress = (block: Buffer, most: number) => {
    try {
      return asBuffer(snappy.uncompress(block, most));
    } catch (err) {
      // snappyjs says "The uncompressed length of … is too big" when a block states more than `most`.
      throw /too big/.test((err as Error).message) ? tooLarge('the snappy blocks decompress to', maxBytes) : err;
    }
  };
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return uncompress(buffer, maxBytes);
  }
  const blocks: Buffer[] = [];
  let total = 0;
  for (let at = XERIAL_HEADER_BYTES; at < buffer.length;) {
    if (at + 4 > buffer.length) throw new Error('truncated xerial snappy block header');
    const size = buffer.readInt32BE(at);
    at += 4;
    if (size < 0 || at + size > buffer.length) throw new Error('truncated xerial snappy block');
    const block = uncompress(buffer.subarray(at, at + size), maxBytes - total);
    blocks.push(block);
    total += block.length;
    at += size;
  }
  return Buffer.concat(blocks, total);
}

const snappyCodec: Codec = {
  compress: async ({ buffer }) => asBuffer(snappy.compress(buffer)),
  decompress: guarded('snappy', (buffer) => decompressSnappy(buffer)),
};

// kafkajs' own gzip codec inflates whatever it is given; Node's zlib stops at a bound.
const gzip = promisify(zlib.gzip);
const unzip = promisify(zlib.unzip);

const gzipCodec: Codec = {
  compress: ({ buffer }) => gzip(buffer),
  // unzip, as kafkajs does: it also reads zlib-wrapped deflate, which some producers write.
  decompress: guarded('gzip', async (buffer) => {
    try {
      return await unzip(buffer, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
    } catch (err) {
      throw (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? tooLarge('it decompresses to') : err;
    }
  }),
};

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames: magic 0x184D2A50 to 0x184D2A5F, a 4-byte length, then bytes a decoder ignores. */
const ZSTD_SKIPPABLE_MAGIC_HIGH = 0x184d2a5;
const ZSTD_MAX_BLOCK_BYTES = 128 * 1024;
/**
 * What the zstd format advises decoders to support and encoders not to exceed (levels up to 19
 * stay within it). fzstd allocates the window of a frame that does not state its size and moves it
 * all for every block: a larger window costs memory, and CPU per block.
 */
const ZSTD_MAX_WINDOW_BYTES = 8 * 1024 * 1024;

/**
 * The most a zstd payload decompresses to, read from its frame and block headers before anything
 * is decompressed: a frame's stated content size (fzstd allocates it), or else the sum of its blocks'
 * largest outputs (a raw or RLE block states its size; a compressed one yields at most 128 KiB).
 * Throws when that, or a frame's window, is more than fzstd should be asked to allocate.
 */
export function zstdDecompressedBound(buffer: Buffer): number {
  let total = 0;
  for (let at = 0; at < buffer.length;) {
    const magic = buffer.readUInt32LE(at);
    if (magic >>> 4 === ZSTD_SKIPPABLE_MAGIC_HIGH) {
      at += 8 + buffer.readUInt32LE(at + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new Error('not a zstd frame');
    const descriptor = buffer[at + 4]!;
    const singleSegment = (descriptor >> 5) & 1;
    let i = at + 5;
    let window = 0;
    if (singleSegment === 0) {
      const windowDescriptor = buffer[i++]!;
      const base = 2 ** (10 + (windowDescriptor >> 3));
      window = base + (base / 8) * (windowDescriptor & 7);
    }
    i += [0, 1, 2, 4][descriptor & 3]!; // dictionary id
    const contentSizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6]!;
    let contentSize = 0;
    if (contentSizeBytes === 8) contentSize = Number(buffer.readBigUInt64LE(i));
    else if (contentSizeBytes > 0) contentSize = buffer.readUIntLE(i, contentSizeBytes) + (contentSizeBytes === 2 ? 256 : 0);
    i += contentSizeBytes;
    // fzstd takes a stated size of 0 as none and allocates the window instead.
    if (contentSize === 0 && window > ZSTD_MAX_WINDOW_BYTES) {
      throw new Error(
        `a zstd frame asks for a window of ${window / (1024 * 1024)} MiB; at most ${ZSTD_MAX_WINDOW_BYTES / (1024 * 1024)} MiB is taken`,
      );
    }
    if (contentSize > MAX_DECOMPRESSED_BYTES - total) throw tooLarge('a zstd frame states');
    const blockLimit = singleSegment === 1 ? Math.min(contentSize, ZSTD_MAX_BLOCK_BYTES) : Math.min(window, ZSTD_MAX_BLOCK_BYTES);
    let blocksBound = 0;
    for (let last = 0; last === 0;) {
      const header = buffer.readUIntLE(i, 3);
      i += 3;
      last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new Error('a zstd block of the reserved type');
      blocksBound += type === 2 ? blockLimit : size;
      i += type === 1 ? 1 : size;
      if (contentSize === 0 && total + blocksBound > MAX_DECOMPRESSED_BYTES) throw tooLarge('the zstd blocks decompress to');
    }
    if ((descriptor & 4) !== 0) i += 4; // content checksum
    total += contentSize === 0 ? blocksBound : contentSize;
    at = i;
  }
  return total;
}

// Node 22.15+ has zstd in zlib; on Node 20 these services only need to read zstd (fzstd, pure JS).
const nodeZstdCompress = (zlib as unknown as { zstdCompressSync?: (input: Buffer) => Buffer }).zstdCompressSync;

const zstdCodec: Codec = {
  compress: async ({ buffer }) => {
    if (nodeZstdCompress === undefined)
      throw new Error('zstd compression needs Node.js 22.15 or later; these services only read zstd on Node 20');
    return nodeZstdCompress(buffer);
  },
  decompress: guarded('zstd', (buffer) => {
    zstdDecompressedBound(buffer);
    return asBuffer(zstdDecompress(buffer));
  }),
};

/**
 * kafkajs 2.2.4 ships gzip only: a record batch compressed with snappy, lz4 or zstd (common producer
 * settings, and any Kafka client may publish to events.v1) made its consumer throw
 * KafkaJSNotImplemented and stop. kafkajs keeps codecs in one process-wide table, so registering
 * is idempotent and every client of the process gains them.
 */
export function registerCompressionCodecs(): void {
  CompressionCodecs[CompressionTypes.GZIP] = () => gzipCodec;
  CompressionCodecs[CompressionTypes.Snappy] = () => snappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstdCodec;
}
