/**
 * The recommendationId of an answer carries what attribution needs, so that serving writes nothing
 * per request and the report needs no lookup (ADR 015). It is a UUID of version 8 (RFC 9562,
 * custom layout), 16 bytes:
 *
 * | bytes | what |
 * |---|---|
 * | 0–1 | the experiment's tag (1–65535); 0 when no experiment was running |
 * | 2, high nibble | the variant's index in the experiment (A/B) |
 * | 5, low 2 bits | team-draft coins of rounds 48 and 49 |
 * | 6, high nibble | 8 (the version) |
 * | 8, high 2 bits | 10 (the RFC variant) |
 * | 9 | interleaving: bit 7, the team that filled the list once the other ran out; bits 0–6, the position where that began (127: never) |
 * | 10–15 | team-draft coins of rounds 0–47, one bit each: 1 when the challenger picked first in that round |
 * | the rest | random: 44 bits that, with the coins, make answers to one user distinct |
 *
 * Putting the tag first makes one experiment's answers one range of UUIDs, which an index scans.
 */

/** The largest experiment tag: two bytes of the id (the `experiment_tags` sequence's MAXVALUE). */
export const MAX_EXPERIMENT_TAG = 0xffff;

/** Where one team's items ran out in an interleaved list, and who filled the rest. */
export interface InterleavingLayout {
  /** 0 = baseline, 1 = challenger, per round: who picked first. */
  coins: readonly (0 | 1)[];
  /** The first position the continuing team filled alone, or undefined when neither ran out. */
  aloneFrom?: number;
  /** 0 = baseline, 1 = challenger. */
  continuingTeam?: 0 | 1;
}

export interface RecommendationIdParts extends InterleavingLayout {
  tag: number;
  variantIndex: number;
}

/** Coins the id has room for: 50 rounds, 100 items, the most an answer holds. */
export const MAX_INTERLEAVING_ROUNDS = 50;
const NEVER_ALONE = 127;

/** The team-draft coins that `random` (16 random bytes) carries, before any id is written. */
export function coinsOf(random: Uint8Array): (0 | 1)[] {
  const coins: (0 | 1)[] = [];
  for (let round = 0; round < MAX_INTERLEAVING_ROUNDS; round++) coins.push(coinAt(random, round));
  return coins;
}

function coinAt(bytes: Uint8Array, round: number): 0 | 1 {
  if (round < 48) return (((bytes[10 + (round >> 3)] ?? 0) >> (7 - (round & 7))) & 1) as 0 | 1;
  return (((bytes[5] ?? 0) >> (round - 48)) & 1) as 0 | 1;
}

/**
 * A recommendationId from 16 random bytes (crypto's, in serving) and what it must carry. The coins
 * are the random bytes' own: a list interleaved with `coinsOf(random)` is described by the id as is.
 */
export function encodeRecommendationId(random: Uint8Array, parts: Omit<RecommendationIdParts, 'coins'>): string {
  if (random.length !== 16) throw new RangeError('a recommendationId takes 16 random bytes');
  if (!Number.isInteger(parts.tag) || parts.tag < 0 || parts.tag > MAX_EXPERIMENT_TAG)
    throw new RangeError(`tag out of range: ${parts.tag}`);
  if (!Number.isInteger(parts.variantIndex) || parts.variantIndex < 0 || parts.variantIndex > 15) {
    throw new RangeError(`variant index out of range: ${parts.variantIndex}`);
  }
  const bytes = Uint8Array.from(random);
  bytes[0] = parts.tag >> 8;
  bytes[1] = parts.tag & 0xff;
  bytes[2] = (parts.variantIndex << 4) | (bytes[2]! & 0x0f);
  bytes[6] = 0x80 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const aloneFrom = parts.aloneFrom ?? NEVER_ALONE;
  if (!Number.isInteger(aloneFrom) || aloneFrom < 0 || aloneFrom > NEVER_ALONE)
    throw new RangeError(`aloneFrom out of range: ${aloneFrom}`);
  bytes[9] = ((parts.continuingTeam ?? 0) << 7) | aloneFrom;
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** What a recommendationId says, or undefined when it is not one of ours (not a version 8 UUID). */
export function decodeRecommendationId(id: string): RecommendationIdParts | undefined {
  if (!UUID_V8.test(id)) return undefined;
  const hex = id.replace(/-/g, '');
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const aloneFrom = bytes[9]! & 0x7f;
  return {
    tag: (bytes[0]! << 8) | bytes[1]!,
    variantIndex: bytes[2]! >> 4,
    coins: coinsOf(bytes),
    ...(aloneFrom === NEVER_ALONE ? {} : { aloneFrom, continuingTeam: (bytes[9]! >> 7) as 0 | 1 }),
  };
}

/**
 * The team (0 = baseline, 1 = challenger) of the item at `position` of an interleaved list: in
 * round k (positions 2k and 2k+1) the coin's team picked first; from `aloneFrom` on, one team filled.
 */
export function teamAt(layout: InterleavingLayout, position: number): 0 | 1 {
  if (layout.aloneFrom !== undefined && position >= layout.aloneFrom) return layout.continuingTeam ?? 0;
  const first = layout.coins[position >> 1] ?? 0;
  return (position & 1) === 0 ? first : ((1 - first) as 0 | 1);
}

/** The UUID range holding every recommendationId of the experiment with `tag` (inclusive bounds). */
export function recommendationIdRange(tag: number): [string, string] {
  const prefix = tag.toString(16).padStart(4, '0');
  return [`${prefix}0000-0000-0000-0000-000000000000`, `${prefix}ffff-ffff-ffff-ffff-ffffffffffff`];
}
