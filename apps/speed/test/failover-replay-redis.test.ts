import { redisEpoch } from '@lambdarec/clients';
import { DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { buildClickEvent, testLogger, waitFor } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { createFailoverReplay, type FailoverReplay } from '../src/failover-replay.js';
import { replaySessions } from '../src/replay.js';
import { createSessionApplier } from '../src/session-applier.js';
import { useSpeedOnPrivateRedis } from './speed-on-private-redis.js';

// A Redis without persistence: killed and started again, it comes back empty with a new run id,
// the worst a failover can do (a promoted replica that had received nothing).
const keyPrefix = 'failover:';
let watcher: FailoverReplay | undefined;
const speed = useSpeedOnPrivateRedis({
  name: 'failover-replay-test',
  keyPrefix,
  persistence: 'none',
  beforeClose: async () => watcher?.close(),
});

// The speed layer's own wiring (main.ts): the consumer tells the log what it applied, and the
// watcher replays from it when the Redis epoch changes.
function startWatcher() {
  const log = testLogger('failover-replay-test');
  const applier = createSessionApplier({ sessions: speed.sessions, policy: DEFAULT_SESSION_POLICY });
  watcher = createFailoverReplay({
    epoch: () => redisEpoch(speed.redis),
    appliedOffsets: speed.appliedOffsets,
    replay: (startOffsets) =>
      replaySessions({ kafka: speed.kafka, topic: speed.topic.topic, applier, log, fromTime: Date.now(), startOffsets }),
    log,
    registry: speed.registry,
    intervalMs: 200,
  });
  watcher.start();
}

const stored = async (users: readonly string[]) =>
  Object.fromEntries(await Promise.all(users.map(async (u) => [u, await speed.redis.get(`${keyPrefix}session:${u}`)] as const)));

describe.skipIf(!speed.available)('speed layer after Redis lost acknowledged writes', () => {
  it('notices the new epoch and applies again, from Kafka, what it had written: every session comes back as it was, with no new event', async () => {
    const events = Array.from({ length: 12 }, (_, i) => buildClickEvent({ userId: `failover-${i % 4}`, productId: `p${i}` }));
    const users = [...new Set(events.map((e) => e.userId))];
    startWatcher();
    await speed.send(events);
    const before = await waitFor(
      async () => {
        const counts = await Promise.all(users.map((u) => speed.sessions.read(u)));
        return counts.every((s) => s.signals.length === 3) ? stored(users) : undefined;
      },
      { what: 'the sessions', timeoutMs: 30_000 },
    );
    // Let the watcher confirm the epoch with every write in it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    await speed.privateRedis.kill();
    await speed.privateRedis.start();

    const after = await waitFor(
      async () => {
        const now = await stored(users);
        return users.every((u) => now[u] === before[u]) ? now : undefined;
      },
      { what: 'the sessions to come back from Kafka', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(after).toEqual(before);
    // It was the watcher: it saw one new epoch (the restarted server's run id).
    expect(await speed.registry.getSingleMetricAsString('lrec_speed_redis_epoch_changes_total')).toMatch(
      /^lrec_speed_redis_epoch_changes_total(\{[^}]*\})? 1$/m,
    );
  });
});
