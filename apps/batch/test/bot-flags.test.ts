import { createBatchViewReader, createRunHistoryReader } from '@lambdarec/stores';
import { buildClickEvent, waitFor } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { app, archivedCount, arrivals, auth, botFlags, flagOf, pool, producer, topic, useBatchApp, waitForRun } from './batch-app.js';

useBatchApp();

describe('batch runs', () => {
  it('leaves the events of a burst the bot guard flagged out of the model', async () => {
    const t = Date.now() - 30_000;
    const events = [
      ['bot-1', 'bot-a'],
      ['bot-1', 'bot-b'],
      ['bot-1', 'bot-a'],
      ['human-1', 'bot-a'],
      ['human-1', 'tea'],
    ].map(([userId, productId], i) => buildClickEvent({ userId, productId, timestamp: new Date(t + i).toISOString() }));
    await producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    await waitFor(async () => ((await archivedCount('bot-1')) === 3 && (await archivedCount('human-1')) === 2 ? true : undefined), {
      what: 'the events archived',
    });
    await botFlags.add([await flagOf('bot-1', events.slice(0, 3))]);

    const res = await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } });
    const run = await waitForRun(res.json().runId);
    expect(run.status).toBe('succeeded');
    expect(run.stats.botEventsExcluded).toBeGreaterThanOrEqual(3);
    const view = createBatchViewReader({ pool });
    expect(await view.userItems(run.runId, 'bot-1')).toEqual([]);
    // Only the human's basket links bot-a: with the bot's views, bot-b would be its neighbour.
    const similar = (await view.similarItems(run.runId, ['bot-a'])).get('bot-a') ?? [];
    expect(similar.map((c) => c.productId)).toEqual(['tea']);
  });

  it("a flood sent under a shopper's id costs them only the flooded burst: their events before and after it still count", async () => {
    const t = Date.now() - 20_000;
    // Every event the same UTC day, by its event time: leaving out the victim's day would lose them all.
    const event = (userId: string, productId: string, type: 'view' | 'purchase', i: number) =>
      buildClickEvent({ userId, productId, type, category: 'v6', timestamp: new Date(t + i).toISOString() });
    const send = (events: ReturnType<typeof buildClickEvent>[]) =>
      producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    const peer = ['v6-tea', 'v6-cake', 'v6-jam'].map((productId, i) => event('v6-peer', productId, 'purchase', i));
    const earlier = event('v6-victim', 'v6-tea', 'purchase', 3);
    await send([...peer, earlier]);
    await waitFor(async () => ((await archivedCount('v6-')) === 4 ? true : undefined), { what: "the victim's earlier purchase archived" });

    // Another client floods the victim's id: the same page again and again, flagged by its arrival.
    const burst = Array.from({ length: 12 }, (_, i) => event('v6-victim', 'v6-spam', 'view', 4 + i));
    await send(burst);
    await waitFor(async () => ((await archivedCount('v6-')) === 4 + burst.length ? true : undefined), { what: 'the burst archived' });
    const flag = await flagOf('v6-victim', burst);
    await botFlags.add([flag]);

    const later = event('v6-victim', 'v6-cake', 'purchase', 16);
    await send([later]);
    await waitFor(async () => ((await archivedCount('v6-')) === 5 + burst.length ? true : undefined), {
      what: "the victim's later purchase archived",
    });
    // The victim's own purchases arrived before the flag began and after it ended.
    const [[earlierArrival], [laterArrival]] = await Promise.all([arrivals([earlier]), arrivals([later])]);
    expect(earlierArrival).toBeLessThan(flag.from);
    expect(laterArrival).toBeGreaterThan(flag.until);

    const run = await waitForRun((await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } })).json().runId);
    expect(run.status).toBe('succeeded');
    expect(run.stats.botEventsExcluded).toBeGreaterThanOrEqual(burst.length);
    const view = createBatchViewReader({ pool });
    const bought = (await view.repurchase(run.runId, ['v6-tea', 'v6-cake'], [])).products;
    // The victim bought tea before the flood and cake after it: both count, beside the peer's.
    expect(bought.get('v6-tea')?.buyers).toBe(2);
    expect(bought.get('v6-cake')?.buyers).toBe(2);
    expect((await view.userItems(run.runId, 'v6-victim')).map((c) => c.productId)).toContain('v6-jam');
    // Only the burst named v6-spam: had it counted, the victim's tea and cake would be its neighbours.
    expect((await view.similarItems(run.runId, ['v6-spam'])).get('v6-spam') ?? []).toEqual([]);
  });

  it("a burst's purchases leave the days the customer bought on: a day only the burst touched is gone, a shared day keeps the customer's own", async () => {
    const DAY = 86_400_000;
    const today = Math.floor(Date.now() / DAY) * DAY;
    // Noon, so that no event sits near a day's edge.
    const twoDaysAgo = today - 2 * DAY + DAY / 2;
    const yesterday = today - DAY + DAY / 2;
    const purchase = (at: number) =>
      buildClickEvent({
        userId: 'pd-victim',
        productId: 'pd-tea',
        type: 'purchase',
        category: 'pd',
        timestamp: new Date(at).toISOString(),
      });
    const send = (events: ReturnType<typeof buildClickEvent>[]) =>
      producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    const own = purchase(twoDaysAgo);
    await send([own]);
    await waitFor(async () => ((await archivedCount('pd-victim')) === 1 ? true : undefined), { what: "the customer's purchase archived" });

    // A flood under the customer's id, dated by its client: most of it yesterday, one on the customer's own day.
    const burst = [...Array.from({ length: 6 }, (_, i) => purchase(yesterday + i)), purchase(twoDaysAgo + 1)];
    await send(burst);
    await waitFor(async () => ((await archivedCount('pd-victim')) === 1 + burst.length ? true : undefined), { what: 'the burst archived' });
    const flag = await flagOf('pd-victim', burst);
    await botFlags.add([flag]);
    expect((await arrivals([own]))[0]).toBeLessThan(flag.from);

    const run = await waitForRun((await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } })).json().runId);
    expect(run.status).toBe('succeeded');
    // What the run froze and kept for this customer (the re-buy vector's baskets are these days).
    const history = await createRunHistoryReader({ pool }).userHistory(run.runId, 'pd-victim');
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ productId: 'pd-tea', type: 'purchase', count: 1, lastAt: twoDaysAgo });
    expect(history[0]!.purchaseDays).toEqual([Math.floor(twoDaysAgo / DAY)]);
  });
});
