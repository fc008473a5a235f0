import { botFlagDayDroppedKey, botFlagDayKey } from '@lambdarec/contracts';
import { closeRedis, type RedisClient } from '@lambdarec/clients';
import { connectTestRedis, REDIS_KINDS, removeKeys, testLogger, uniqueName } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBotFlagLedger, type BotFlagInterval, type BotFlagLedger } from '../src/bot-flag-ledger.js';

let redis: RedisClient;
let keyPrefix: string;
const DAY_MS = 24 * 60 * 60 * 1000;
// Days expire by the wall clock: the flags are dated around now.
const now = Date.now();
const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

const readAll = async (ledger: BotFlagLedger, since: number) => {
  const pages: BotFlagInterval[][] = [];
  for await (const page of ledger.flagsSince(since)) pages.push(page);
  return pages;
};

// A day's two keys share a hash tag, so its script runs on a Redis Cluster too.
describe.each(REDIS_KINDS)('bot flag ledger on %s', (kind) => {
  beforeAll(async () => {
    redis = await connectTestRedis(kind, inject('infra'));
    keyPrefix = `${uniqueName('ledger')}:`;
  });

  afterAll(async () => {
    await removeKeys(redis, `${keyPrefix}*`);
    await closeRedis(redis);
  });

  it('keeps each flagged burst once, extended in place, and reads those ending at or after a time, a page at a time', async () => {
    const prefix = `${keyPrefix}read:`;
    const ledger = createBotFlagLedger({ redis, keyPrefix: prefix, pageSize: 10, now: () => now });
    const flags = Array.from({ length: 300 }, (_, i): BotFlagInterval => ({
      userId: `u${i}`,
      reason: i % 2 === 0 ? 'rate' : 'repeat',
      from: now - 2 * DAY_MS + i * 1000,
      until: now - 2 * DAY_MS + i * 1000 + 60_000,
    }));
    await ledger.add(flags.slice(0, 150));
    await ledger.add(flags.slice(150));
    // The same burst again, extended: one entry, with the later end.
    await ledger.add([{ ...flags[0]!, until: now }]);
    const since = flags[100]!.until;
    const pages = await readAll(ledger, since);
    expect(pages.length).toBeGreaterThan(1);
    const read = pages.flat().sort((a, b) => a.from - b.from);
    expect(read).toEqual([{ ...flags[0]!, until: now }, ...flags.slice(100)]);
    expect(await ledger.dropped()).toBe(0);
  });

  it('files a flag under the day its burst began, and that day expires after keepDays', async () => {
    const prefix = `${keyPrefix}days:`;
    const ledger = createBotFlagLedger({ redis, keyPrefix: prefix, keepDays: 8, now: () => now });
    const yesterday = dayOf(now - DAY_MS);
    const lateEvening = Date.parse(`${yesterday}T23:59:00Z`);
    await ledger.add([{ userId: 'night-owl', reason: 'rate', from: lateEvening, until: lateEvening + 30 * 60_000 }]);
    const key = botFlagDayKey(prefix, yesterday);
    expect(await redis.zrange(key, '0', '-1')).toEqual(['night-owl|rate|' + lateEvening]);
    expect(await redis.pexpiretime(key)).toBe(Date.parse(yesterday) + 9 * DAY_MS);
    expect((await readAll(ledger, lateEvening + 60_000)).flat()).toEqual([
      { userId: 'night-owl', reason: 'rate', from: lateEvening, until: lateEvening + 30 * 60_000 },
    ]);
  });

  it('a flood of fresh userIds leaves a day within its cap, counts what it dropped, and says so once per power of ten', async () => {
    const prefix = `${keyPrefix}flood:`;
    const warnings: unknown[] = [];
    const drops: number[] = [];
    const noon = Date.parse(`${dayOf(now)}T12:00:00Z`);
    const ledger = createBotFlagLedger({
      redis,
      keyPrefix: prefix,
      maxFlagsPerDay: 1000,
      now: () => now,
      log: { ...testLogger('ledger'), warn: (obj: unknown) => warnings.push(obj) } as never,
      onDropped: ({ dropped }) => drops.push(dropped),
    });
    // One fresh userId every three events: thousands of flags a minute, in batches as the speed layer writes them.
    for (let batch = 0; batch < 30; batch++) {
      await ledger.add(
        Array.from({ length: 100 }, (_, i) => ({
          userId: `fresh-${batch}-${i}`,
          reason: 'repeat' as const,
          from: noon + batch * 1000 + i,
          until: noon + 30 * 60_000,
        })),
      );
    }
    const key = botFlagDayKey(prefix, dayOf(noon));
    expect(await redis.zcard(key)).toBe(1000);
    expect(await ledger.dropped()).toBe(2000);
    expect(drops.reduce((a, b) => a + b, 0)).toBe(2000);
    // 100 dropped by the first call over the cap, then 1000 crossed: two warnings, not twenty.
    expect(warnings).toHaveLength(2);
    // A flag already recorded is still extended when the day is full.
    await ledger.add([{ userId: 'fresh-0-0', reason: 'repeat', from: noon, until: noon + 60 * 60_000 }]);
    expect(await redis.zscore(key, `fresh-0-0|repeat|${noon}`)).toBe(String(noon + 60 * 60_000));
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    expect(await redis.pttl(botFlagDayDroppedKey(prefix, dayOf(noon)))).toBeGreaterThan(0);
  });

  it('retries a failed write, then fails (retriable) so the caller can try again; the flag is recorded once the write can succeed', async () => {
    const prefix = `${keyPrefix}failing:`;
    const ledger = createBotFlagLedger({ redis, keyPrefix: prefix, attempts: 3, retryDelayMs: 1, now: () => now });
    const key = botFlagDayKey(prefix, dayOf(now));
    // A key of the wrong type makes every write of that day fail, in a real Redis.
    await redis.set(key, 'not a sorted set');
    const flag: BotFlagInterval = { userId: 'unlucky', reason: 'rate', from: now, until: now + 60_000 };
    await expect(ledger.add([flag])).rejects.toMatchObject({ code: 'LREC_STORE_UNAVAILABLE', retriable: true });
    await redis.del(key);
    await ledger.add([flag]);
    expect((await readAll(ledger, now)).flat()).toEqual([flag]);
  });
});
