import { sessionKey } from '@lambdarec/contracts';
import { DEFAULT_SESSION_POLICY, seededRandom } from '@lambdarec/domain';
import { REDIS_KINDS, valuesOf } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { eventFingerprint } from '../src/session-format.js';
import { createSessionStore, type SessionWrite } from '../src/session-store.js';
import { keyPrefix, redis, signal, useSessionRedis } from './session-redis.js';

const policy = { ...DEFAULT_SESSION_POLICY, maxSignals: 5, maxPurchases: 3 };

// Every behaviour twice: on one server and on a Redis Cluster, where each script call's keys must share a slot.
describe.each(REDIS_KINDS)('session store on %s', (kind) => {
  useSessionRedis(kind);

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
    const [forward, backward] = await valuesOf(redis, [sessionKey(keyPrefix, 'forward'), sessionKey(keyPrefix, 'backward')]);
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
        const [a, b] = await valuesOf(redis, [sessionKey(keyPrefix, fastUser), sessionKey(keyPrefix, fullUser)]);
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
    const written = await valuesOf(
      redis,
      users.map((userId) => sessionKey(keyPrefix, userId)),
    );
    const reference = await valuesOf(
      redis,
      users.map((userId) => sessionKey(aloneKeyPrefix, userId)),
    );
    expect(written.every((value) => value !== null)).toBe(true);
    expect(written).toEqual(reference);
  });

  it('applies a batch of many users, across slots, as each user alone; and a redelivery changes nothing', async () => {
    const together = createSessionStore({ redis, keyPrefix: `${keyPrefix}batch:`, policy: DEFAULT_SESSION_POLICY });
    const alone = createSessionStore({ redis, keyPrefix: `${keyPrefix}batch-alone:`, policy: DEFAULT_SESSION_POLICY });
    const start = Date.now() - 10 * 60_000;
    // 240 users: five calls of 50 on one server; on a cluster, users in every primary's slots.
    const users = Array.from({ length: 240 }, (_, i) => `batch-${i}`);
    const events = users.flatMap((userId, i) =>
      Array.from({ length: 1 + (i % 4) }, (_, k) =>
        // Every seventh user repeats one product seconds apart: the guard flags them.
        i % 7 === 0
          ? signal({ userId, productId: 'same', at: start + k * 2000, arrivedAt: start + k * 2000 })
          : signal({ userId, productId: `p${(i + k) % 5}`, at: start + k * 60_000, arrivedAt: start + k * 60_000 }),
      ),
    );
    const flagged = await together.record(events);
    const flaggedAlone = (await Promise.all(users.map((userId) => alone.record(events.filter((e) => e.userId === userId))))).flat();
    const byUser = (flags: typeof flagged) => [...flags].sort((a, b) => a.userId.localeCompare(b.userId));
    expect(byUser(flagged)).toEqual(byUser(flaggedAlone));
    expect(flagged.map((f) => f.userId).sort()).toEqual(users.filter((_, i) => i % 7 === 0 && i % 4 >= 2).sort());
    const sessions = () => Promise.all(users.map((userId) => together.inspect(userId)));
    const once = await sessions();
    expect(once).toEqual(await Promise.all(users.map((userId) => alone.inspect(userId))));
    expect(once.every((session) => session.signals.length > 0)).toBe(true);
    const again = await together.record(events);
    expect(byUser(again).map(({ raised, ...flag }) => ({ ...flag, raised: !raised }))).toEqual(byUser(flagged));
    expect(await sessions()).toEqual(once);
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
