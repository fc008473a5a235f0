import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import kafkajs from 'kafkajs';

// lz4js and snappyjs are CommonJS without types; their few functions are typed here.
const require = createRequire(import.meta.url);
const lz4 = require('lz4js') as { compress(src: Uint8Array): Uint8Array; decompress(src: Uint8Array): Uint8Array };
const snappy = require('snappyjs') as { compress(src: Uint8Array): Uint8Array; uncompress(src: Uint8Array): Uint8Array };
// Node's ESM loader cannot see these two among kafkajs' CommonJS exports: take them off the default export.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/**
 * A batch that its codec cannot decompress. The broker validates compressed batches when they are
 * produced, so this means damage after the fact. Marked retriable: kafkajs then restarts the
 * consumer (logged, counted as a crash, and reported by readiness as crash-looping) instead of
 * giving up, which would stop the service.
 */
export class UndecodableBatchError extends Error {
  readonly retriable = true;
  constructor(codec: string, cause: unknown) {
    super(`a ${codec} batch could not be decompressed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'UndecodableBatchError';
  }
}

const guarded =
  (codec: string, decompress: (buffer: Buffer) => Buffer) =>
  async (buffer: Buffer): Promise<Buffer> => {
    try {
      return decompress(buffer);
    } catch (err) {
      throw new UndecodableBatchError(codec, err);
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
  decompress: guarded('lz4', (buffer) => asBuffer(lz4.decompress(buffer))),
};

// The Java client frames snappy the way snappy-java's SnappyOutputStream does ("xerial"): a
// 16-byte header, then blocks each preceded by its big-endian length. librdkafka writes raw snappy.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

/** Raw or xerial-framed snappy in, raw snappy out (what librdkafka and kafkajs codecs write). */
export function decompressSnappy(buffer: Buffer): Buffer {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return asBuffer(snappy.uncompress(buffer));
  }
  const blocks: Buffer[] = [];
  for (let at = XERIAL_HEADER_BYTES; at < buffer.length; ) {
    if (at + 4 > buffer.length) throw new Error('truncated xerial snappy block header');
    const size = buffer.readInt32BE(at);
    at += 4;
    if (size < 0 || at + size > buffer.length) throw new Error('truncated xerial snappy block');
    blocks.push(asBuffer(snappy.uncompress(buffer.subarray(at, at + size))));
    at += size;
  }
  return Buffer.concat(blocks);
}

const snappyCodec: Codec = {
  compress: async ({ buffer }) => asBuffer(snappy.compress(buffer)),
  decompress: guarded('snappy', decompressSnappy),
};

// Node 22.15+ has zstd in zlib; on Node 20 these services only need to read zstd (fzstd, pure JS).
const nodeZstdCompress = (zlib as unknown as { zstdCompressSync?: (input: Buffer) => Buffer }).zstdCompressSync;

const zstdCodec: Codec = {
  compress: async ({ buffer }) => {
    if (nodeZstdCompress === undefined) throw new Error('zstd compression needs Node.js 22.15 or later; these services only read zstd on Node 20');
    return nodeZstdCompress(buffer);
  },
  decompress: guarded('zstd', (buffer) => asBuffer(zstdDecompress(buffer))),
};

/**
 * kafkajs 2.2.4 ships gzip only: a record batch compressed with snappy, lz4 or zstd (common producer
 * settings, and any Kafka client may publish to events.v1) made its consumer throw
 * KafkaJSNotImplemented and stop. kafkajs keeps codecs in one process-wide table, so registering
 * is idempotent and every client of the process gains them.
 */
export function registerCompressionCodecs(): void {
  CompressionCodecs[CompressionTypes.Snappy] = () => snappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstdCodec;
}
