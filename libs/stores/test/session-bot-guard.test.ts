import { sessionKey } from '@lambdarec/contracts';
import { botFlagAfter, DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { describe, expect, it } from 'vitest';
import { createBotFlagLedger } from '../src/bot-flag-ledger.js';
import { eventFingerprint } from '../src/session-format.js';
import { createSessionStore, type SessionWrite } from '../src/session-store.js';
import { keyPrefix, redis, signal, useSessionRedis } from './session-redis.js';

useSessionRedis();

describe('bot guard in the session store', () => {
  const now = Date.now();
  const policy = DEFAULT_SESSION_POLICY;
  const limit = policy.botMaxEventsPerMinute;
  /** Events arriving `gapMs` apart, up to now, dated as they arrive unless `shape` says otherwise. */
  const series = (
    userId: string,
    n: number,
    gapMs: number,
    shape: (i: number) => Partial<SessionWrite> = (i) => ({ productId: `p${i}` }),
  ) =>
    Array.from({ length: n }, (_, i) => {
      const arrivedAt = now - (n - i) * gapMs;
      return signal({ userId, at: arrivedAt, arrivedAt, ...shape(i) });
    });
  const cases: Array<[string, (userId: string) => SessionWrite[]]> = [
    ['over the rate limit', (u) => series(u, limit + 1, 1000)],
    ['at the rate limit', (u) => series(u, limit, 1000)],
    ['the same page over and over', (u) => series(u, 3, 2000, () => ({ productId: 'same' }))],
    ['the same page, slowly', (u) => series(u, 3, 20_000, () => ({ productId: 'same' }))],
    [
      'a funnel on one product',
      (u) =>
        (['view', 'click', 'add_to_cart', 'purchase'] as const).map((type, i) =>
          signal({ userId: u, productId: 'kettle', type, at: now - 4000 + i * 1000, arrivedAt: now - 4000 + i * 1000 }),
        ),
    ],
    [
      'timestamps 1.2 s apart alternating two products, all arriving within seconds',
      (u) => series(u, limit + 1, 50, (i) => ({ productId: i % 2 === 0 ? 'a' : 'b', at: now - 60 * 60_000 + i * 1200 })),
    ],
    [
      'events dated 3 h ago arriving now in a burst (too old to keep, judged all the same)',
      (u) => series(u, limit + 1, 100, (i) => ({ productId: `p${i}`, at: now - 3 * 60 * 60_000 + i * 1200, judgeOnly: true })),
    ],
    [
      'a checkout: one request of many distinct products',
      (u) => Array.from({ length: 80 }, (_, i) => signal({ userId: u, type: 'purchase', productId: `line-${i}`, at: now, arrivedAt: now })),
    ],
    ['a history import, never judged', (u) => series(u, limit + 1, 10).map(({ arrivedAt: _arrived, ...event }) => event)],
    [
      'a burst, then a quiet event after the flag has ended',
      (u) => [
        ...series(u, 3, 1000, () => ({ productId: 'same' })),
        signal({ userId: u, at: now + policy.botFlagMs, arrivedAt: now + policy.botFlagMs }),
      ],
    ],
  ];

  it.each(cases)('agrees with the domain rule: %s, in one batch or one event at a time', async (name, events) => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const whole = events(`bot-${name}-whole`);
    const judged = whole.flatMap((e) =>
      e.arrivedAt === undefined ? [] : [{ type: e.type, productId: e.productId, arrivedAt: e.arrivedAt }],
    );
    const expected = botFlagAfter(judged, policy);
    // A write reports the last flag it raised, even one that ended before its last event.
    const lastRaised = judged.map((_, i) => botFlagAfter(judged.slice(0, i + 1), policy)).findLast((flag) => flag !== undefined);
    const flagged = await store.record(whole);
    expect(flagged.filter((f) => f.raised).map(({ reason, from, until }) => ({ reason, from, until }))).toEqual(
      lastRaised === undefined ? [] : [lastRaised],
    );
    expect((await store.inspect(whole[0]!.userId)).botFlag).toEqual(expected);
    const single = events(`bot-${name}-single`);
    for (const event of single) await store.record([event]);
    expect((await store.inspect(single[0]!.userId)).botFlag).toEqual(expected);
  });

  it('a flag costs only the burst: events that arrived before it and after its end count, those inside it move nothing, and the operator sees them all', async () => {
    const shortFlag = { ...policy, botFlagMs: 60_000 };
    const store = createSessionStore({ redis, keyPrefix, policy: shortFlag });
    const start = now - 10 * 60_000;
    const at = (offset: number) => ({ at: start + offset, arrivedAt: start + offset });
    // The customer browses; then a stranger floods the customer's id with the same page.
    const earlier = [0, 60_000, 120_000].map((offset, i) =>
      signal({ userId: 'victim', productId: `own-${i}`, category: 'garden', ...at(offset) }),
    );
    await store.record(earlier);
    const flood = [200_000, 200_500, 201_000, 201_500].map((offset) =>
      signal({ userId: 'victim', productId: 'reloaded', category: 'tools', ...at(offset) }),
    );
    const [flag] = await store.record(flood);
    expect(flag).toMatchObject({
      userId: 'victim',
      reason: 'repeat',
      raised: true,
      from: start + 200_000,
      until: start + 201_500 + shortFlag.botFlagMs,
    });
    // The customer's own event inside the flag counts no more than the flood's.
    const during = signal({ userId: 'victim', productId: 'own-during', ...at(230_000) });
    expect(await store.record([during])).toMatchObject([{ raised: false, from: start + 200_000 }]);
    const fingerprints = (events: readonly SessionWrite[]) => events.map((e) => eventFingerprint(e.eventId));
    expect((await store.read('victim')).signals.map((s) => s.eventId)).toEqual(fingerprints(earlier));
    const after = signal({ userId: 'victim', productId: 'own-after', ...at(201_500 + shortFlag.botFlagMs + 1) });
    expect(await store.record([after])).toEqual([]);
    expect((await store.read('victim')).signals.map((s) => s.eventId)).toEqual(fingerprints([...earlier, after]));
    const inspected = await store.inspect('victim');
    expect(inspected.signals).toHaveLength(9);
    expect(inspected.signals.filter((s) => s.botBurst).map((s) => s.productId)).toEqual([
      'reloaded',
      'reloaded',
      'reloaded',
      'reloaded',
      'own-during',
    ]);
    // The flag stays in the session until an event arrives after its end: the operator saw it.
    expect(inspected.botFlag).toBeUndefined();
  });

  it('a bot going on while flagged extends the flag, and the key outlives it', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const burst = series('bot-reader', 3, 1000, () => ({ productId: 'same', category: 'tools' }));
    const [flag] = await store.record(burst);
    expect(flag).toMatchObject({
      userId: 'bot-reader',
      reason: 'repeat',
      raised: true,
      from: burst[0]!.arrivedAt,
      until: burst[2]!.arrivedAt! + policy.botFlagMs,
    });
    expect((await store.read('bot-reader')).signals).toEqual([]);
    const more = signal({ userId: 'bot-reader', productId: 'same', at: now + 500, arrivedAt: now + 500 });
    expect(await store.record([more])).toMatchObject([
      { reason: 'repeat', raised: false, from: burst[0]!.arrivedAt, until: more.arrivedAt! + policy.botFlagMs },
    ]);
    expect(await redis.pttl(sessionKey(keyPrefix, 'bot-reader'))).toBeGreaterThan(policy.botFlagMs - 60_000);
  });

  it('when the ledger write fails, the write fails, and the redelivered events record the flag', async () => {
    const ledgerPrefix = `${keyPrefix}failing-ledger:`;
    const ledger = createBotFlagLedger({ redis, keyPrefix: ledgerPrefix, attempts: 2, retryDelayMs: 1 });
    const store = createSessionStore({ redis, keyPrefix, policy, botFlags: ledger });
    const burst = series('ledger-bot', 3, 1000, () => ({ productId: 'same' }));
    // A key of the wrong type where the flag's day goes: every ledger write of that day fails.
    const dayKey = `${ledgerPrefix}{bot-flags:${new Date(burst[0]!.arrivedAt!).toISOString().slice(0, 10)}}`;
    await redis.set(dayKey, 'in the way');
    await expect(store.record(burst)).rejects.toMatchObject({ code: 'LREC_STORE_UNAVAILABLE' });
    // The session was written: the events are applied, and the consumer delivers them again.
    expect((await store.inspect('ledger-bot')).botFlag?.reason).toBe('repeat');
    await redis.del(dayKey);
    expect(await store.record(burst)).toMatchObject([{ userId: 'ledger-bot', raised: false }]);
    const recorded = [];
    for await (const page of ledger.flagsSince(0)) recorded.push(...page);
    expect(recorded).toEqual([
      { userId: 'ledger-bot', reason: 'repeat', from: burst[0]!.arrivedAt, until: burst[2]!.arrivedAt! + policy.botFlagMs },
    ]);
  });

  it('judges an event once however many records it has: a client that sends it again (a retry) makes a later record that neither counts nor changes the session', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const userId = `retry-${crypto.randomUUID()}`;
    const first = series(userId, 3, 1000);
    await store.record(first);
    const once = await redis.get(sessionKey(keyPrefix, userId));
    // The retried copies arrive later than anything judged, one at a time and in one call.
    await store.record([{ ...first[1]!, arrivedAt: now + 500 }]);
    await store.record([first[0]!, first[2]!].map((event, i) => ({ ...event, arrivedAt: now + 1000 + i })));
    expect(await redis.get(sessionKey(keyPrefix, userId))).toBe(once);
    // Enough copies to trip the rate limit if each counted: none does.
    const copies = Array.from({ length: limit + 1 }, (_, i) => ({ ...first[i % 3]!, arrivedAt: now + 2000 + i }));
    expect(await store.record(copies)).toEqual([]);
    expect(await redis.get(sessionKey(keyPrefix, userId))).toBe(once);
  });
});
