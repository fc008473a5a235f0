import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { decompressSnappy, registerCompressionCodecs, UndecodableBatchError } from './compression.js';

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
      const err = await CompressionCodecs[type]().decompress(garbage).catch((e: unknown) => e);
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
  const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<{ firstOffset: string; records: Array<{ offset: string; value: Buffer | null; headers: Record<string, Buffer> }> }>;
  const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;

  const batchOf = async (compression: number) => {
    const records = Array.from({ length: 5 }, (_, i) => Record({ offsetDelta: i, value: Buffer.from(`{"n":${i}}`.repeat(20)) }));
    return (await RecordBatch({ compression, firstOffset: { toString: () => '100', low: 100, high: 0 }, lastOffsetDelta: 4, records })).buffer;
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
