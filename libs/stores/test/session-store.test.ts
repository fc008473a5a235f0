import { sessionKey } from '@lambdarec/contracts';
import { createRedis, type Redis } from '@lambdarec/clients';
import { botFlagAfter, DEFAULT_SESSION_POLICY, seededRandom } from '@lambdarec/domain';
import { testLogger, uniqueName } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBotFlagLedger } from '../src/bot-flag-ledger.js';
import { eventFingerprint } from '../src/session-format.js';
import { createSessionStore, type SessionWrite } from '../src/session-store.js';

const policy = { ...DEFAULT_SESSION_POLICY, maxSignals: 5, maxPurchases: 3 };
let redis: Redis;
let keyPrefix: string;

const signal = (overrides: Partial<SessionWrite> = {}): SessionWrite => ({
  eventId: crypto.randomUUID(),
  userId: 'u1',
  type: 'view',
  productId: 'p1',
  category: 'shoes',
  at: Date.now(),
  ...overrides,
});

beforeAll(() => {
  redis = createRedis({ url: inject('infra').redisUrl, log: testLogger('test'), purpose: 'requests' });
  keyPrefix = `${uniqueName('test')}:`;
});

afterAll(async () => {
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('session store', () => {
  it('reads back the signals and purchases it recorded', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const view = signal({ userId: 'read-back' });
    const purchase = signal({ userId: 'read-back', type: 'purchase', productId: 'p9' });
    await store.record([view, purchase]);
    const snapshot = await store.read('read-back');
    expect(snapshot.signals.map((s) => s.eventId).sort()).toEqual(
      [eventFingerprint(view.eventId), eventFingerprint(purchase.eventId)].sort(),
    );
    expect(snapshot.signals.find((s) => s.productId === view.productId)).toEqual({ ...view, eventId: eventFingerprint(view.eventId) });
    expect([...snapshot.purchases.entries()]).toEqual([['p9', purchase.at]]);
  });

  it('when the same events are delivered twice, the state is the same as after once', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const events = [signal({ userId: 'redelivered' }), signal({ userId: 'redelivered', type: 'purchase', productId: 'p2' })];
    await store.record(events);
    const once = await store.read('redelivered');
    await store.record(events);
    expect(await store.read('redelivered')).toEqual(once);
  });

  it('keeps the latest purchase time whatever order purchases arrive in', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const now = Date.now();
    await store.record([signal({ userId: 'order', type: 'purchase', productId: 'p3', at: now })]);
    await store.record([signal({ userId: 'order', type: 'purchase', productId: 'p3', at: now - 60_000 })]);
    expect((await store.read('order')).purchases.get('p3')).toBe(now);
  });

  it('keeps at most maxSignals signals, the newest, and lets the keys expire', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const now = Date.now();
    const many = Array.from({ length: 8 }, (_, i) => signal({ userId: 'bounded', productId: `p${i}`, at: now - (8 - i) * 1000 }));
    await store.record(many);
    const snapshot = await store.read('bounded');
    expect(snapshot.signals.map((s) => s.productId).sort()).toEqual(['p3', 'p4', 'p5', 'p6', 'p7']);
    const ttl = await redis.pttl(sessionKey(keyPrefix, 'bounded'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(policy.sessionWindowMs);
  });

  it('keeps at most maxPurchases purchased products, the latest', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const now = Date.now();
    await store.record(
      Array.from({ length: 6 }, (_, i) => signal({ userId: 'bulk-buyer', type: 'purchase', productId: `p${i}`, at: now - (6 - i) * 1000 })),
    );
    const snapshot = await store.read('bulk-buyer');
    expect([...snapshot.purchases.keys()].sort()).toEqual(['p3', 'p4', 'p5']);
  });

  it('drops signals older than the session window relative to the newest one', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const now = Date.now();
    await store.record([signal({ userId: 'window', productId: 'old', at: now - policy.sessionWindowMs - 1000 })]);
    await store.record([signal({ userId: 'window', productId: 'new', at: now })]);
    expect((await store.read('window')).signals.map((s) => s.productId)).toEqual(['new']);
  });

  it('keeps purchases for their suppression window after the session window has passed, and the key with them', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const now = Date.now();
    const bought = now - policy.sessionWindowMs - 60_000;
    await store.record([signal({ userId: 'bought-earlier', type: 'purchase', productId: 'kettle', at: bought })]);
    await store.record([signal({ userId: 'bought-earlier', productId: 'tea', at: now })]);
    const snapshot = await store.read('bought-earlier');
    expect(snapshot.signals.map((s) => s.productId)).toEqual(['tea']);
    expect([...snapshot.purchases]).toEqual([['kettle', bought]]);
    expect(await redis.pttl(sessionKey(keyPrefix, 'bought-earlier'))).toBeGreaterThan(policy.sessionWindowMs);
  });

  it('is canonical: the same events in any order and batching store the same bytes', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy: DEFAULT_SESSION_POLICY });
    const now = Date.now();
    const events = (userId: string) =>
      ['a', 'b', 'c', 'd'].map((productId, i) =>
        signal({
          userId,
          eventId: `00000000-0000-4000-8000-00000000000${i}`,
          productId,
          category: i % 2 === 0 ? 'shoes' : null,
          type: i === 3 ? 'purchase' : 'view',
          at: now - i * 1000,
        }),
      );
    await store.record(events('forward'));
    for (const one of events('backward').reverse()) await store.record([one]);
    const [forward, backward] = await redis.mget(sessionKey(keyPrefix, 'forward'), sessionKey(keyPrefix, 'backward'));
    expect(forward).not.toBeNull();
    expect(backward).toBe(forward);
  });

  // Tight windows and caps make the full path trim often; the default policy keeps most steps on the fast path.
  const fastPathPolicies = [
    [
      'tight windows and caps',
      { ...DEFAULT_SESSION_POLICY, maxSignals: 12, maxPurchases: 4, botMaxEventsPerMinute: 8, sessionWindowMs: 10 * 60_000 },
    ],
    ['the default policy', DEFAULT_SESSION_POLICY],
  ] as const;
  it.each(fastPathPolicies)(
    'appending one newer event (the fast path) stores exactly the bytes and expiry a whole rebuild does: %s',
    async (name, policy) => {
      // The same event twice in one call takes the full path (and counts once): a reference to compare with.
      const store = createSessionStore({ redis, keyPrefix, policy });
      const fastUser = `fast-${name}`;
      const fullUser = `full-${name}`;
      const random = seededRandom(7);
      const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
      let clock = Date.now() - 3 * 60 * 60 * 1000;
      const history: SessionWrite[] = [];
      for (let step = 0; step < 400; step++) {
        // Mostly forward in time, sometimes a burst (which the guard flags), a late event, one too
        // old to keep (judged only), one the guard does not judge, or a redelivery.
        const gap = pick([0, 1, 500, 2_000, 30_000, 90_000, 400_000]);
        clock += gap;
        const late = random() < 0.1;
        const odd = random();
        const event =
          history.length > 0 && random() < 0.08
            ? pick(history)
            : signal({
                productId: pick(['p1', 'p2', 'p3', 'p.4', 'p5']),
                type: pick(['view', 'view', 'view', 'click', 'add_to_cart', 'purchase'] as const),
                category: pick(['shoes', 'hats', null, 'Home, Garden']),
                at: late ? clock - 120_000 : odd < 0.05 ? clock - 5 * 60 * 60 * 1000 : clock,
                ...(odd < 0.05 ? { judgeOnly: true } : {}),
                ...(odd > 0.95 ? {} : { arrivedAt: clock }),
              });
        history.push(event);
        const fast = await store.record([{ ...event, userId: fastUser }]);
        const full = await store.record([
          { ...event, userId: fullUser },
          { ...event, userId: fullUser },
        ]);
        expect(
          fast.map(({ userId: _u, ...f }) => f),
          `step ${step}`,
        ).toEqual(full.map(({ userId: _u, ...f }) => f));
        const [a, b] = await redis.mget(sessionKey(keyPrefix, fastUser), sessionKey(keyPrefix, fullUser));
        expect(a, `step ${step}`).toBe(b);
        // The same expiry too (both written within a few milliseconds): a purchase, a flag or neither.
        const [fastTtl, fullTtl] = await Promise.all([
          redis.pttl(sessionKey(keyPrefix, fastUser)),
          redis.pttl(sessionKey(keyPrefix, fullUser)),
        ]);
        expect(fastTtl).toBeGreaterThan(0);
        expect(Math.abs(fastTtl - fullTtl), `step ${step}: ttl ${fastTtl} against ${fullTtl}`).toBeLessThan(1000);
      }
    },
  );

  it('writes many users in one script call, each exactly as if written alone, and names the right users it flags', async () => {
    // Three users a call, so one record() makes several calls and a flagged user sits at every position.
    const together = createSessionStore({ redis, keyPrefix, policy: DEFAULT_SESSION_POLICY, usersPerCall: 3 });
    const aloneKeyPrefix = `${keyPrefix}alone:`;
    const alone = createSessionStore({ redis, keyPrefix: aloneKeyPrefix, policy: DEFAULT_SESSION_POLICY, usersPerCall: 1 });
    const random = seededRandom(11);
    const start = Date.now() - 60 * 60_000;
    const users = Array.from({ length: 11 }, (_, i) => `multi-${i}`);
    const bots = new Set(['multi-0', 'multi-4', 'multi-8', 'multi-10']);
    const events: SessionWrite[] = [];
    for (const userId of users) {
      for (let k = 0; k < 1 + Math.floor(random() * 6); k++) {
        // A bot views one product over and over, seconds apart (the repeat rule).
        events.push(
          bots.has(userId)
            ? signal({ userId, productId: 'same', at: start + k * 2000, arrivedAt: start + k * 2000 })
            : signal({
                userId,
                productId: `p${Math.floor(random() * 4)}`,
                type: random() < 0.2 ? 'purchase' : 'view',
                category: random() < 0.5 ? null : 'shoes',
                at: start + k * 60_000,
                arrivedAt: start + k * 60_000,
              }),
        );
      }
    }
    for (const userId of bots)
      for (let k = 0; k < 3; k++)
        events.push(signal({ userId, productId: 'same', at: start + 100_000 + k * 1000, arrivedAt: start + 100_000 + k * 1000 }));
    // Users interleaved, each user's events in the order they arrived, as a partition holds them.
    const interleaved = [...events].sort(() => random() - 0.5).sort((a, b) => a.arrivedAt! - b.arrivedAt!);
    const flaggedTogether = await together.record(interleaved);
    const flaggedAlone = (await Promise.all(users.map((userId) => alone.record(interleaved.filter((e) => e.userId === userId))))).flat();
    const summary = (flags: typeof flaggedTogether) =>
      flags
        .map(({ userId, reason, raised, from, until, at }) => ({ userId, reason, raised, from, until, at }))
        .sort((a, b) => a.userId.localeCompare(b.userId));
    expect(summary(flaggedTogether)).toEqual(summary(flaggedAlone));
    expect(new Set(flaggedTogether.map((f) => f.userId))).toEqual(bots);
    const written = await redis.mget(...users.map((userId) => sessionKey(keyPrefix, userId)));
    const reference = await redis.mget(...users.map((userId) => sessionKey(aloneKeyPrefix, userId)));
    expect(written.every((value) => value !== null)).toBe(true);
    expect(written).toEqual(reference);
  });

  it('stores categories verbatim, whatever printable characters they hold', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    const category = 'Home, Garden; "Décor" 🌿 \\ 1,2';
    await store.record([signal({ userId: 'odd-category', productId: 'p.1:a@b-c_d', category })]);
    const [read] = (await store.read('odd-category')).signals;
    expect(read).toMatchObject({ productId: 'p.1:a@b-c_d', category });
  });

  it('takes about 20 bytes an event: 10 views of one category stay under 256 bytes', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy: DEFAULT_SESSION_POLICY });
    const now = Date.now();
    await store.record(
      Array.from({ length: 10 }, (_, i) =>
        signal({ userId: 'compact', productId: `8512${i}A`, category: 'kitchen', at: now - i * 90_000 }),
      ),
    );
    expect(await redis.strlen(sessionKey(keyPrefix, 'compact'))).toBeLessThan(256);
    expect((await store.read('compact')).signals).toHaveLength(10);
  });

  it('a user without a session reads as empty', async () => {
    const store = createSessionStore({ redis, keyPrefix, policy });
    expect(await store.read('nobody')).toEqual({ signals: [], purchases: new Map() });
  });
});

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
});
