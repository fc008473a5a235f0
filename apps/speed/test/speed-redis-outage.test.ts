import { buildClickEvent, waitFor } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { useSpeedOnPrivateRedis } from './speed-on-private-redis.js';

// A Redis that writes every command to its append-only file before answering: a restart loses nothing.
const speed = useSpeedOnPrivateRedis({ name: 'speed-outage-test', keyPrefix: 'outage:', persistence: 'aof' });
const sessionOf = (userId: string) => speed.sessions.read(userId);

describe.skipIf(!speed.available)('speed layer during a Redis outage', () => {
  it('loses no event: what arrives while Redis is down is applied once it is back', async () => {
    const before = buildClickEvent({ userId: 'outage-1', productId: 'before' });
    await speed.send([before]);
    await waitFor(async () => ((await sessionOf('outage-1')).signals.length === 1 ? true : undefined), { what: 'the first event' });

    await speed.privateRedis.kill();
    const during = [
      buildClickEvent({ userId: 'outage-1', productId: 'during-1' }),
      buildClickEvent({ userId: 'outage-1', productId: 'during-2', type: 'purchase' }),
      buildClickEvent({ userId: 'outage-2', productId: 'during-3' }),
    ];
    await speed.send(during);
    // Long enough for the consumer to fetch them and fail against the missing Redis.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await speed.privateRedis.start();

    const first = await waitFor(
      async () => {
        const session = await sessionOf('outage-1');
        return session.signals.length === 3 ? session : undefined;
      },
      { what: 'the events sent during the outage', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(first.signals.map((s) => s.productId).sort()).toEqual(['before', 'during-1', 'during-2']);
    expect([...first.purchases.keys()]).toEqual(['during-2']);
    expect((await sessionOf('outage-2')).signals.map((s) => s.productId)).toEqual(['during-3']);
  });
});
