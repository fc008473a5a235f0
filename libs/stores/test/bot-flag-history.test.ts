import { randomUUID } from 'node:crypto';
import { utcDay, type Interaction } from '@lambdarec/domain';
import { buildClickEvent } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { createArchiveReader } from '../src/archive-reader.js';
import { createBatchRunsRepository } from '../src/batch-runs-repository.js';
import { createBotFlagHistory } from '../src/bot-flag-history.js';
import type { BotFlagInterval } from '../src/bot-flag-ledger.js';
import { createEventArchive } from '../src/event-archive.js';
import { pool, useMigratedPostgres } from './migrated-postgres.js';

useMigratedPostgres();

async function* pages(...flags: BotFlagInterval[][]) {
  yield* flags;
}

describe('bot flags in a run', () => {
  it('leaves out exactly the events that arrived within a flag: not the user’s other events of the day, nor imports', async () => {
    const day = Date.parse('2026-04-02T09:00:00Z');
    const minute = 60_000;
    // A live event: event time as the client claims it, arrival as the broker stamped it.
    const live = (userId: string, productId: string, type: 'view' | 'purchase', eventTime: number, arrivedAt: number, imported = false) => {
      const event = buildClickEvent({ userId, productId, type, category: 'c', timestamp: new Date(eventTime).toISOString() });
      return { event, eventTime: new Date(eventTime), arrivedAt: new Date(arrivedAt), imported };
    };
    const burstFrom = day + 10 * minute;
    const burstUntil = day + 12 * minute;
    const events = [
      // The victim's own view of the page the flood hits, and a purchase before it.
      live('victim', 'page', 'view', day, day),
      live('victim', 'tea', 'purchase', day + minute, day + minute),
      // The flood under the victim's id: the same page again and again, dated later in the day,
      // which must not make the victim's own view look recent either.
      ...Array.from({ length: 5 }, (_, i) => live('victim', 'page', 'view', day + 5 * 60 * minute + i, burstFrom + i * 1000)),
      live('victim', 'spam', 'view', day + 5 * 60 * minute, burstUntil),
      // A purchase in the flood, dated two days on: it must not become a basket of the victim's.
      live('victim', 'tea', 'purchase', day + 48 * 60 * minute, burstFrom + 1500),
      // An import with the operator's key that arrived during the flood: the guard never judged it.
      live('victim', 'page', 'view', day - 2 * minute, burstFrom + 500, true),
      // After the flag, and on another day: the victim's again.
      live('victim', 'cake', 'purchase', day + 20 * minute, burstUntil + 1),
      live('victim', 'page', 'view', day + 26 * 60 * minute, day + 26 * 60 * minute),
      // Another shopper viewing the same page during the flood is not flagged.
      live('bystander', 'page', 'view', burstFrom + 1, burstFrom + 1),
    ];
    await createEventArchive({ pool }).append({
      topic: 't-bot',
      partition: 0,
      nextOffset: String(events.length),
      events: events.map((e, i) => ({ ...e, offset: String(i) })),
    });

    const history = createBotFlagHistory({ pool });
    const flag: BotFlagInterval = { userId: 'victim', reason: 'repeat', from: burstFrom, until: burstUntil };
    // A flag copied again (the ledger keeps a few days, a run copies it each night) is one flag;
    // extended since, it takes the later end.
    expect(await history.record(pages([{ ...flag, until: burstFrom + 1000 }], [{ ...flag, until: burstFrom + 2000 }]))).toBe(1);
    expect(await history.record(pages([flag]))).toBe(1);
    expect(await history.record(pages([flag], [{ ...flag, until: burstFrom }]))).toBe(0);

    const runs = createBatchRunsRepository({ pool });
    const reader = createArchiveReader({ pool });
    const runId = randomUUID();
    await runs.create({ runId, trigger: 'test' });
    const input = await reader.freezeInput(runId, { historyDays: 365, maxItemsPerUser: 100, now: Date.now() });
    const rows: Interaction[] = [];
    for await (const user of reader.users(runId)) rows.push(...user.rows);
    const of = (userId: string) =>
      rows
        .filter((r) => r.userId === userId)
        .map(({ productId, type, count, lastAt, purchaseDays }) => ({ productId, type, count, lastAt, purchaseDays }));

    expect(input.botEventsExcluded).toBe(7);
    expect(of('victim')).toEqual([
      { productId: 'cake', type: 'purchase', count: 1, lastAt: day + 20 * minute, purchaseDays: [utcDay(day)] },
      // Their own two views (that day's and the next's) and the import: not the flood's five.
      { productId: 'page', type: 'view', count: 3, lastAt: day + 26 * 60 * minute, purchaseDays: undefined },
      // One basket, their own: the flood's purchase two days on is neither counted nor a day.
      { productId: 'tea', type: 'purchase', count: 1, lastAt: day + minute, purchaseDays: [utcDay(day)] },
    ]);
    expect(of('bystander')).toEqual([{ productId: 'page', type: 'view', count: 1, lastAt: burstFrom + 1, purchaseDays: undefined }]);
    await reader.dropInput(runId);
    await runs.markFailed(runId, 'test over');

    // Past the horizon, flags are forgotten: the user's events count again.
    expect(await history.prune(burstUntil + 1)).toBe(1);
    const again = randomUUID();
    await runs.create({ runId: again, trigger: 'test' });
    expect((await reader.freezeInput(again, { historyDays: 365, maxItemsPerUser: 100, now: Date.now() })).botEventsExcluded).toBe(0);
    await reader.dropInput(again);
    await runs.markFailed(again, 'test over');
  });

  it("rebuilds a flooded day's row from the user's own events: their latest time, not the flood's", async () => {
    const day = Date.parse('2026-05-02T08:00:00Z');
    const own = {
      event: buildClickEvent({ userId: 'late', productId: 'vase', timestamp: new Date(day).toISOString() }),
      eventTime: new Date(day),
      arrivedAt: new Date(day),
      imported: false,
    };
    const flood = {
      event: buildClickEvent({ userId: 'late', productId: 'vase', timestamp: new Date(day + 3600_000).toISOString() }),
      eventTime: new Date(day + 3600_000),
      arrivedAt: new Date(day + 1000),
      imported: false,
    };
    await createEventArchive({ pool }).append({
      topic: 't-bot-late',
      partition: 0,
      nextOffset: '2',
      events: [
        { ...own, offset: '0' },
        { ...flood, offset: '1' },
      ],
    });
    await createBotFlagHistory({ pool }).record(pages([{ userId: 'late', reason: 'rate', from: day + 500, until: day + 1500 }]));
    const runs = createBatchRunsRepository({ pool });
    const reader = createArchiveReader({ pool });
    const runId = randomUUID();
    await runs.create({ runId, trigger: 'test' });
    await reader.freezeInput(runId, { historyDays: 365, maxItemsPerUser: 100, now: Date.now() });
    const rows: Interaction[] = [];
    for await (const user of reader.users(runId)) if (user.userId === 'late') rows.push(...user.rows);
    expect(rows).toMatchObject([{ productId: 'vase', type: 'view', count: 1, lastAt: day }]);
    await reader.dropInput(runId);
    await runs.markFailed(runId, 'test over');
  });
});
