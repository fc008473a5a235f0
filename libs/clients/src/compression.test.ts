import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { decompressSnappy, MAX_DECOMPRESSED_BYTES, registerCompressionCodecs, UndecodableBatchError } from './compression.js';

const { CompressionCodecs, CompressionTypes } = kafkajs;
const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { compress(src: Uint8Array): Uint8Array };
const text = Buffer.from('{"userId":"u1","type":"view","productId":"p1"}'.repeat(50));

/** A snappy-java (xerial) stream: magic, version 1, compatible version 1, then length-prefixed blocks. */
function xerialFramed(blocks: Buffer[]): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const parts = blocks.flatMap((block) => {
    const compressed = Buffer.from(snappy.compress(block));
    const size = Buffer.alloc(4);
    size.writeInt32BE(compressed.length);
    return [size, compressed];
  });
  return Buffer.concat([header, ...parts]);
}

describe('compression codecs', () => {
  it('round-trips snappy, lz4 and zstd through the registered kafkajs codecs', async () => {
    registerCompressionCodecs();
    for (const type of [CompressionTypes.Snappy, CompressionTypes.LZ4] as const) {
      const codec = CompressionCodecs[type]();
      const compressed = await codec.compress({ buffer: text });
      expect(compressed.length).toBeLessThan(text.length);
      expect(Buffer.from(await codec.decompress(compressed)).equals(text)).toBe(true);
    }
    // Reading zstd is what the consumers need on Node 20; writing it needs Node 22.15+.
    const zstd = CompressionCodecs[CompressionTypes.ZSTD]();
    expect(zstd.decompress).toBeTypeOf('function');
  });

  it('reads xerial-framed snappy (the Java producer) as well as raw snappy (librdkafka)', () => {
    const half = text.length / 2;
    expect(decompressSnappy(xerialFramed([text.subarray(0, half), text.subarray(half)])).equals(text)).toBe(true);
    expect(decompressSnappy(Buffer.from(snappy.compress(text))).equals(text)).toBe(true);
  });

  it('refuses a truncated xerial stream with an error rather than a wrong payload', () => {
    const framed = xerialFramed([text]);
    expect(() => decompressSnappy(framed.subarray(0, framed.length - 5))).toThrow(/truncated/);
  });
});

describe('a batch that cannot be decompressed', () => {
  it('fails with a retriable UndecodableBatchError naming the codec, so kafkajs restarts the consumer instead of stopping it', async () => {
    registerCompressionCodecs();
    const garbage = Buffer.from('definitely not a compressed batch, just bytes');
    for (const [type, name] of [
      [CompressionTypes.Snappy, 'snappy'],
      [CompressionTypes.LZ4, 'lz4'],
      [CompressionTypes.ZSTD, 'zstd'],
    ] as const) {
      const err = await CompressionCodecs[type]()
        .decompress(garbage)
        .catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(UndecodableBatchError);
      expect((err as UndecodableBatchError).retriable).toBe(true);
      expect((err as Error).message).toContain(`a ${name} batch could not be decompressed`);
    }
  });
});

describe('stand-ins for a batch that cannot be decompressed', () => {
  // kafkajs' own encoder and decoder (2.2.4, pinned): the codec sees exactly what a fetch gives it.
  const internal = (name: string) => require(`kafkajs/src/protocol/${name}`) as Record<string, unknown>;
  const { RecordBatch } = internal('recordBatch/v0') as { RecordBatch: (options: object) => Promise<{ buffer: Buffer }> };
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: object) => unknown;
  const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
    decoder: unknown,
  ) => Promise<{ firstOffset: string; records: Array<{ offset: string; value: Buffer | null; headers: Record<string, Buffer> }> }>;
  const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;

  const batchOf = async (compression: number) => {
    const records = Array.from({ length: 5 }, (_, i) => Record({ offsetDelta: i, value: Buffer.from(`{"n":${i}}`.repeat(20)) }));
    return (await RecordBatch({ compression, firstOffset: { toString: () => '100', low: 100, high: 0 }, lastOffsetDelta: 4, records }))
      .buffer;
  };

  it('leaves an intact batch as it is', async () => {
    registerCompressionCodecs();
    for (const compression of [CompressionTypes.LZ4, CompressionTypes.Snappy]) {
      const batch = await decodeBatch(new Decoder(await batchOf(compression)));
      expect(batch.records.map((r) => r.value?.toString().slice(0, 7))).toEqual(['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
    }
  });

  it.each([
    ['overwritten with 0xff (the codec fails)', 0xff],
    ['zeroed (the codec returns garbage)', 0x00],
  ])('turns each record of a damaged lz4 batch, %s, into a stand-in at its offset with the reason in a header', async (_what, fill) => {
    registerCompressionCodecs();
    const damaged = Buffer.from(await batchOf(CompressionTypes.LZ4));
    // The records start after the 61-byte batch header; keep the 7-byte LZ4 frame header.
    for (let at = 61 + 8; at < damaged.length; at++) damaged[at] = fill;
    const batch = await decodeBatch(new Decoder(damaged));
    expect(batch.records.map((r) => r.offset)).toEqual(['100', '101', '102', '103', '104']);
    for (const record of batch.records) {
      expect(record.value).toBeNull();
      expect(record.headers['lrec-undecodable']?.toString()).toMatch(/^a lz4 batch could not be decompressed/);
    }
  });
});

describe('a decompression bomb', () => {
  const GiB = 1024 * 1024 * 1024;

  /**
   * 1 GiB of zeros as gzip, about 1 MB, made without holding the gigabyte: gzip members may follow
   * one another, and a reader joins what they hold.
   */
  const gzipBomb = () => {
    const member = zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    return Buffer.concat(Array.from({ length: GiB / (16 * 1024 * 1024) }, () => member));
  };

  /** 1 GiB of zeros as one zstd frame of RLE blocks (128 KiB of one byte in 4 bytes each): 32 KiB. */
  const zstdBomb = () => {
    const blocks = GiB / (128 * 1024);
    const frame = Buffer.alloc(6 + blocks * 4);
    frame.writeUInt32LE(0xfd2fb528, 0);
    frame[4] = 0; // no content size, not single-segment, no checksum, no dictionary
    frame[5] = 7 << 3; // a window of 2^(10 + 7) bytes: 128 KiB
    for (let b = 0; b < blocks; b++) frame.writeUIntLE(((128 * 1024) << 3) | (1 << 1) | (b === blocks - 1 ? 1 : 0), 6 + b * 4, 3);
    return frame;
  };

  /** Runs `work` while sampling the process's ArrayBuffer memory (Buffers live there): its highest rise. */
  async function peakBufferGrowth(work: () => Promise<unknown>): Promise<number> {
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const sample = () => (peak = Math.max(peak, process.memoryUsage().arrayBuffers));
    const timer = setInterval(sample, 5);
    try {
      await work();
    } finally {
      clearInterval(timer);
      sample();
    }
    return peak - before;
  }

  it.each([
    ['gzip', CompressionTypes.GZIP, gzipBomb],
    ['zstd', CompressionTypes.ZSTD, zstdBomb],
  ] as const)(
    'of %s, 1 GiB of zeros, is refused with the bound as the reason, holding no more than the bound',
    async (name, type, bomb) => {
      registerCompressionCodecs();
      const compressed = bomb();
      expect(compressed.length).toBeLessThan(1_100_000);

      let outcome: unknown;
      const growth = await peakBufferGrowth(async () => {
        outcome = await CompressionCodecs[type]()
          .decompress(compressed)
          .catch((e: unknown) => e);
      });
      expect(outcome, name).toBeInstanceOf(UndecodableBatchError);
      expect((outcome as Error).message).toMatch(new RegExp(`^a ${name} batch could not be decompressed: .*more than 64 MiB`));
      expect(growth).toBeLessThan(MAX_DECOMPRESSED_BYTES + 16 * 1024 * 1024);
    },
    60_000,
  );

  it('of zstd, a frame that claims 1 GiB, or a window larger than zstd advises decoders to take, is refused before anything is allocated', async () => {
    registerCompressionCodecs();
    const claimsGiB = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0x03, 0, 0, 0]);
    const hugeWindow = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x03, 0, 0, 0]);
    for (const frame of [claimsGiB, hugeWindow]) {
      const err = await CompressionCodecs[CompressionTypes.ZSTD]()
        .decompress(frame)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UndecodableBatchError);
      expect((err as Error).message).toMatch(/more than 64 MiB|window of 1024 MiB/);
    }
  });

  it('of snappy is refused: a raw block that claims more than the bound, or xerial blocks that add up to more', async () => {
    registerCompressionCodecs();
    // A raw snappy block starts with its length as a varint: 2^27 (128 MiB) here, then nothing.
    const claims128MiB = Buffer.from([0x80, 0x80, 0x80, 0x40, 0x00]);
    const err = await CompressionCodecs[CompressionTypes.Snappy]()
      .decompress(claims128MiB)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UndecodableBatchError);
    expect((err as Error).message).toMatch(/more than 64 MiB/);

    const blocks = xerialFramed([text, text, text]);
    expect(decompressSnappy(blocks, text.length * 3).equals(Buffer.concat([text, text, text]))).toBe(true);
    expect(() => decompressSnappy(blocks, text.length * 3 - 1)).toThrow(/more than/);
  });

  it('leaves zstd frames from the zstd tool as they are: one that states its size, one streamed with the largest window advised (level 19)', async () => {
    registerCompressionCodecs();
    const zstd = CompressionCodecs[CompressionTypes.ZSTD]();
    // `zstd -3 file` and `zstd -19 < stdin` (zstd 1.5) of `text`.
    const statesItsSize = Buffer.from(
      'KLUv/WT8B60BAJQCeyJ1c2VySWQiOiJ1MSIsInR5cGUiOiJ2aWV3IiwicHJvZHVjdHAxIn0CAMuIypMKQT0BTaFyLg==',
      'base64',
    );
    const streamed = Buffer.from('KLUv/QRonQEA4kIKEcC3AUROJCQW3BDee9bO2TVf6ba/JxLQKXhfNxrK77qHvG79eyLr6KMBAF5G9FUZTaFyLg==', 'base64');
    for (const frame of [statesItsSize, streamed]) expect(Buffer.from(await zstd.decompress(frame)).equals(text)).toBe(true);
  });

  it('leaves gzip that stays under the bound as it is', async () => {
    registerCompressionCodecs();
    const gzip = CompressionCodecs[CompressionTypes.GZIP]();
    expect(Buffer.from(await gzip.decompress(await gzip.compress({ buffer: text }))).equals(text)).toBe(true);
    expect(Buffer.from(await gzip.decompress(zlib.deflateSync(text))).equals(text)).toBe(true);
  });
});
