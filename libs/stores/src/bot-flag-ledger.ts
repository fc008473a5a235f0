import { botFlagDayDroppedKey, botFlagDayKey, ERROR_CODES, LrecError } from '@lambdarec/contracts';
import type { Logger, RedisClient } from '@lambdarec/clients';
import type { BotReason } from '@lambdarec/domain';
import { redisScript } from './redis-scripts.js';

/** A burst the bot guard flagged: the user's events that arrived in [from, until] (epoch ms) stay out of the batch model. */
export interface BotFlagInterval {
  userId: string;
  reason: BotReason;
  from: number;
  until: number;
}

export interface BotFlagLedger {
  /** Records flags; retried on a transient failure, and throws (retriable) when the retries run out. */
  add(flags: readonly BotFlagInterval[]): Promise<void>;
  /**
   * Every recorded flag whose interval ends at or after `since`, a page at a time (bounded memory).
   * A flag extended while it is being read may come twice; (userId, from) identifies it.
   */
  flagsSince(since: number): AsyncIterable<BotFlagInterval[]>;
  /** Flags refused because a day's cap was reached (the counter of what was dropped), over the days kept. */
  dropped(): Promise<number>;
}

export interface BotFlagLedgerOptions {
  redis: RedisClient;
  keyPrefix: string;
  /**
   * Flags kept per day (the day a burst began, UTC). A flood of fresh userIds raises thousands of
   * flags a minute; past the cap a day keeps what it has and counts the rest as dropped, so the
   * ledger's memory is bounded under `noeviction`: about 80 bytes a flag. @defaultValue 50000
   */
  maxFlagsPerDay?: number;
  /**
   * Days a day's flags stay in Redis. Long enough for a nightly batch run to copy them into
   * Postgres even after a few failed nights; the history lives in the database. @defaultValue 8
   */
  keepDays?: number;
  /** Attempts per day written, a failed one retried after a doubling delay. @defaultValue 4 */
  attempts?: number;
  /** @defaultValue 50 */
  retryDelayMs?: number;
  /** Flags read from Redis per page (ZSCAN's COUNT hint). @defaultValue 1000 */
  pageSize?: number;
  /** Told of flags dropped by a day's cap, with that day's total so far. */
  onDropped?: (drop: { day: string; dropped: number; droppedThatDay: number }) => void;
  log?: Logger;
  /** @defaultValue Date.now */
  now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

/*
 * One day's sorted set, member `<userId>|<reason>|<from>` scored by the flag's end, so a flag
 * extended later (ZADD GT) stays one entry. Written by lua/add-bot-flags.lua, which keeps the day
 * under its cap and counts what it drops.
 */

type AddFlagsCommand = (dayKey: string, droppedKey: string, ...args: Array<string | number>) => Promise<[number, number]>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The bot guard's flags, kept for the batch layer: one sorted set per UTC day with an expiry and a
 * cap, so a flood of flags can neither grow Redis without bound nor be read into one process at
 * once. Every command touches one day (one slot in a Redis Cluster).
 */
export function createBotFlagLedger({
  redis,
  keyPrefix,
  maxFlagsPerDay = 50_000,
  keepDays = 8,
  attempts = 4,
  retryDelayMs = 50,
  pageSize = 1000,
  onDropped,
  log,
  now = Date.now,
}: BotFlagLedgerOptions): BotFlagLedger {
  redis.defineCommand('lrecAddBotFlags', { numberOfKeys: 2, lua: redisScript('add-bot-flags') });
  const addFlags = (redis as unknown as { lrecAddBotFlags: AddFlagsCommand }).lrecAddBotFlags.bind(redis);

  /** The days that may hold flags: those kept, and tomorrow (another host's clock may run ahead). */
  const keptDays = () => {
    const today = Date.parse(dayOf(now()));
    return Array.from({ length: keepDays + 2 }, (_, i) => dayOf(today - (keepDays - i) * DAY_MS));
  };

  async function addDay(day: string, flags: readonly BotFlagInterval[]): Promise<void> {
    const expireAt = Date.parse(day) + (keepDays + 1) * DAY_MS;
    const args = [maxFlagsPerDay, expireAt, ...flags.flatMap((f) => [f.until, `${f.userId}|${f.reason}|${f.from}`])];
    for (let attempt = 1; ; attempt++) {
      try {
        const [dropped, total] = await addFlags(botFlagDayKey(keyPrefix, day), botFlagDayDroppedKey(keyPrefix, day), ...args);
        if (dropped > 0) {
          onDropped?.({ day, dropped, droppedThatDay: total });
          // Once per power of ten a day, not once per call: a flood calls this thousands of times.
          if (Math.floor(Math.log10(total)) > Math.floor(Math.log10(Math.max(1, total - dropped))) || total === dropped) {
            log?.warn(
              { day, droppedThatDay: total, maxFlagsPerDay },
              'bot flag ledger: the day reached its cap; further flags of that day are dropped',
            );
          }
        }
        return;
      } catch (err) {
        if (attempt >= attempts) {
          throw new LrecError(
            ERROR_CODES.STORE_UNAVAILABLE,
            `could not record ${flags.length} bot flag(s) of ${day} after ${attempt} attempts`,
            { cause: err, retriable: true },
          );
        }
        log?.debug({ err, day, attempt }, 'bot flag ledger: write failed; retrying');
        await sleep(retryDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  async function* pagesOf(day: string, since: number): AsyncGenerator<BotFlagInterval[]> {
    const key = botFlagDayKey(keyPrefix, day);
    if ((await redis.zcount(key, since, '+inf')) === 0) return;
    // ZSCAN, not a range by score with an offset: a flag extended meanwhile moves in score order
    // and an offset would skip another; a scan returns every member present throughout.
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, reply] = await redis.zscan(key, cursor, 'COUNT', pageSize);
      cursor = next;
      const page: BotFlagInterval[] = [];
      for (let i = 0; i < reply.length; i += 2) {
        const member = reply[i]!;
        const until = Number(reply[i + 1]);
        if (until < since || seen.has(member)) continue;
        seen.add(member);
        const [userId = '', reason, from] = member.split('|');
        if (reason !== 'rate' && reason !== 'repeat') continue;
        page.push({ userId, reason, from: Number(from), until });
      }
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }

  return {
    async add(flags) {
      const byDay = new Map<string, BotFlagInterval[]>();
      for (const flag of flags) {
        const day = dayOf(flag.from);
        let dayFlags = byDay.get(day);
        if (dayFlags === undefined) byDay.set(day, (dayFlags = []));
        dayFlags.push(flag);
      }
      await Promise.all([...byDay].map(([day, dayFlags]) => addDay(day, dayFlags)));
    },

    async *flagsSince(since) {
      for (const day of keptDays()) yield* pagesOf(day, since);
    },

    async dropped() {
      const counts = await Promise.all(keptDays().map((day) => redis.get(botFlagDayDroppedKey(keyPrefix, day))));
      return counts.reduce((sum, count) => sum + Number(count ?? 0), 0);
    },
  };
}
