/**
 * `npm run bench:session-memory`: Redis bytes per active session. 100k sessions of 10 events go
 * through the speed layer's session store into a private, empty Redis; `INFO memory` before and
 * after gives the bytes each session costs, keys, expiries and allocator rounding included.
 *
 * The same-run baseline is the same sessions in the layout before ADR 010 (two sorted sets per
 * user: every event whole as a JSON member, plus the purchased products), written plainly here.
 * A private redis-server keeps the figure clean of whatever else the shared one holds.
 *
 * Options: --sessions N (default 100000), --events N per session (default 10).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, createRedis, type Redis } from '@lambdarec/clients';
import type { EventType } from '@lambdarec/contracts';
import { DEFAULT_SESSION_POLICY, seededRandom, type SessionSignal } from '@lambdarec/domain';
import { createSessionStore } from '@lambdarec/stores';
import { freePort } from '@lambdarec/testing';
import { writeBenchReport } from './report.js';

const { values: options } = parseArgs({
  options: { sessions: { type: 'string', default: '100000' }, events: { type: 'string', default: '10' } },
});
const SESSIONS = Number(options.sessions);
const EVENTS = Number(options.events);
const GOAL_BYTES = 400;
const log = createLogger({ name: 'bench', level: 'error' });
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Category names of a general shop; a session browses one to three of them. */
const CATEGORIES = [
  'kitchen',
  'home-decor',
  'garden',
  'lighting',
  'stationery',
  'toys',
  'party',
  'bags',
  'jewellery',
  'bath',
  'christmas',
  'storage',
];

/** A browsing session as a storefront sends it: mostly views, then a click, a cart line and sometimes a purchase. */
function sessionOf(user: number, now: number, random: () => number): SessionSignal[] {
  const userId = String(100_000 + user);
  const categories = Array.from({ length: 1 + Math.floor(random() * 3) }, () => CATEGORIES[Math.floor(random() * CATEGORIES.length)]!);
  const types: EventType[] = [
    'view',
    'view',
    'view',
    'view',
    'view',
    'view',
    'click',
    'view',
    'add_to_cart',
    random() < 0.3 ? 'purchase' : 'view',
  ];
  return Array.from({ length: EVENTS }, (_, i) => {
    // UCI Online Retail stock codes: five digits, sometimes a letter.
    const product = 20_000 + Math.floor(random() * 10_000);
    return {
      eventId: crypto.randomUUID(),
      userId,
      type: types[i % types.length]!,
      productId: random() < 0.2 ? `${product}A` : String(product),
      category: categories[i % categories.length]!,
      at: now - (EVENTS - i) * 45_000,
    };
  });
}

async function startPrivateRedis(): Promise<{ redis: Redis; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'lrec-bench-redis-'));
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const redis = createRedis({ url: `redis://127.0.0.1:${port}`, log, purpose: 'requests' });
  for (let attempt = 0; ; attempt++) {
    try {
      await redis.ping();
      break;
    } catch (err) {
      if (attempt > 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    redis,
    async stop() {
      redis.disconnect();
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);

/** Bytes per session after writing every session with `write`, starting from an empty server. */
async function bytesPerSession(redis: Redis, write: (sessions: SessionSignal[][]) => Promise<void>): Promise<number> {
  await redis.flushall();
  const before = await usedMemory(redis);
  const random = seededRandom(42);
  const now = Date.now();
  const CHUNK = 1_000;
  for (let start = 0; start < SESSIONS; start += CHUNK) {
    await write(Array.from({ length: Math.min(CHUNK, SESSIONS - start) }, (_, i) => sessionOf(start + i, now, random)));
  }
  const after = await usedMemory(redis);
  const keys = await redis.dbsize();
  if (keys === 0) throw new Error('nothing was written');
  return (after - before) / SESSIONS;
}

const { redis, stop } = await startPrivateRedis();
try {
  const keyPrefix = 'lrec:';
  const policy = DEFAULT_SESSION_POLICY;
  const store = createSessionStore({ redis, keyPrefix, policy });
  const compact = await bytesPerSession(redis, async (sessions) => {
    await store.record(sessions.flat());
  });
  const sampleKey = `${keyPrefix}session:${100_000}`;
  const valueBytes = await redis.strlen(sampleKey);
  const check = await store.read('100000');
  if (check.signals.length !== EVENTS) throw new Error(`read back ${check.signals.length} of ${EVENTS} events`);

  const sortedSets = await bytesPerSession(redis, async (sessions) => {
    const pipeline = redis.pipeline();
    for (const session of sessions) {
      const userId = session[0]!.userId;
      const signalsKey = `${keyPrefix}session:{${userId}}:signals`;
      pipeline.zadd(signalsKey, ...session.flatMap((s) => [s.at, JSON.stringify([s.eventId, s.type, s.productId, s.category, s.at])]));
      pipeline.pexpire(signalsKey, policy.sessionWindowMs);
      const purchases = session.filter((s) => s.type === 'purchase');
      if (purchases.length > 0) {
        const purchasesKey = `${keyPrefix}session:{${userId}}:purchases`;
        pipeline.zadd(purchasesKey, ...purchases.flatMap((s) => [s.at, s.productId]));
        pipeline.pexpire(purchasesKey, policy.purchaseSuppressionMs);
      }
    }
    await pipeline.exec();
  });

  const perMillionGiB = (bytes: number) => (bytes * 1e6) / 2 ** 30;
  say(
    `${SESSIONS} sessions of ${EVENTS} events: ${compact.toFixed(0)} bytes each (value ${valueBytes} bytes), ${perMillionGiB(compact).toFixed(2)} GiB per 1M users`,
  );
  say(`before ADR 010 (two sorted sets of JSON): ${sortedSets.toFixed(0)} bytes each; ratio ${(compact / sortedSets).toFixed(2)}`);
  writeBenchReport({
    name: 'session-memory',
    setup: `${SESSIONS.toLocaleString('en')} sessions of ${EVENTS} events (views, a click, a cart line, 30% with a purchase; 1–3 categories; UCI-like stock codes), INFO memory of a private redis-server before and after.`,
    figures: [
      {
        label: 'Redis bytes per active session',
        value: compact,
        unit: 'B',
        baseline: { label: 'two sorted sets of JSON (before ADR 010)', value: sortedSets, unit: 'B' },
        ratio: compact / sortedSets,
        goal: `≤ ${GOAL_BYTES} B`,
        met: compact <= GOAL_BYTES,
      },
      { label: 'Redis per 1M active users', value: perMillionGiB(compact), unit: 'GiB' },
    ],
    notes: [`A sample session's value is ${valueBytes} bytes; the rest is the key, its expiry and allocator rounding.`],
  });
} finally {
  await stop();
}
