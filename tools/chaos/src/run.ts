import { randomBytes } from 'node:crypto';
import type { PgPool, RedisClient } from '@lambdarec/clients';
import { DEFAULT_REDIS_KEY_PREFIX } from '@lambdarec/contracts';
import { DEFAULT_SESSION_POLICY } from '@lambdarec/domain';
import { until } from '@lambdarec/local-stack';
import { createFault, sleep, type FaultContext, type FaultName } from './faults.js';
import { startSteadyLoad, type PhaseTraffic } from './load.js';
import { timeToRecover } from './probe.js';
import { archiveCheck, sessionsDifferingFromArchive, timesPublished, type ArchiveCheck } from './verify.js';

/** One row of the summary: a fault, what the clients saw, and what the stores hold afterwards. */
export interface FaultRow {
  fault: FaultName;
  killed: string;
  traffic: PhaseTraffic;
  archive: ArchiveCheck;
  /** Users whose session differs from the one built from the archive, once the speed layer caught up. */
  sessionsDiffering: number;
  sessionsChecked: number;
  /** From the kill until an event posted after it went the whole way; undefined: not within the timeout. */
  recoveryMs: number | undefined;
  /** The batch fault only: how many times its run published (must be 1). */
  published?: number;
  holds: boolean;
}

/** After the last fault, with the load stopped: the events of the tail, and every session of the run once more. */
export interface FinalCheck {
  archive: ArchiveCheck;
  sessionsDiffering: number;
  sessionsChecked: number;
}

export interface ChaosResult {
  rows: FaultRow[];
  final: FinalCheck;
  /** Every row and the final check hold. */
  holds: boolean;
}

export interface ChaosOptions {
  ctx: FaultContext;
  faults: readonly FaultName[];
  pool: PgPool;
  redis: RedisClient;
  ingestUrls: readonly string[];
  servingUrls: readonly string[];
  postsPerSecond: number;
  getsPerSecond: number;
  eventsPerPost?: number;
  users?: number;
  topic?: string;
  /** Steady load before each fault and after its recovery. @defaultValue 5000 */
  settleMs?: number;
  /** How long the stores may take to catch up before a check counts what is still missing. @defaultValue 180000 */
  catchUpMs?: number;
  products: readonly { productId: string; category: string }[];
}

/**
 * The fault run: steady load across every ingest and serving instance, and each fault in turn,
 * with the topology whole again before the next. After each, the accepted events are looked up in
 * the archive (each exactly once), and every session touched so far is compared with the one built
 * from the archive.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { ctx, pool, redis, ingestUrls, servingUrls, products, settleMs = 5_000, catchUpMs = 180_000 } = options;
  const runId = randomBytes(3).toString('hex');
  const load = startSteadyLoad({
    ingestUrls,
    servingUrls,
    postsPerSecond: options.postsPerSecond,
    getsPerSecond: options.getsPerSecond,
    eventsPerPost: options.eventsPerPost ?? 5,
    users: options.users ?? 2_000,
    runId,
    products,
  });
  const rows: FaultRow[] = [];
  const allUsers = new Set<string>();
  // The stores are given `catchUpMs` to hold what they must; then what is still missing counts.
  const onceCaughtUp = <T>(what: string, look: () => Promise<T>, holds: (found: T) => boolean) =>
    until(
      what,
      async () => {
        const found = await look();
        return holds(found) ? found : undefined;
      },
      catchUpMs,
    ).catch(look);
  const archiveOnceCaughtUp = (accepted: readonly string[]) =>
    onceCaughtUp(
      'the archive to hold every accepted event',
      () => archiveCheck(pool, accepted),
      (check) => check.missing === 0,
    );
  const sessionsOnceCaughtUp = (users: readonly string[], referencePrefix: string) =>
    onceCaughtUp(
      'every session to equal its reference',
      () =>
        sessionsDifferingFromArchive({
          pool,
          redis,
          keyPrefix: DEFAULT_REDIS_KEY_PREFIX,
          referencePrefix,
          policy: DEFAULT_SESSION_POLICY,
          users,
        }),
      (differing) => differing.length === 0,
    );
  let stopped = false;
  try {
    // A phase runs from the end of the last check to the end of its fault's settling, so every
    // accepted event belongs to exactly one row.
    await sleep(settleMs);
    for (const name of options.faults) {
      const fault = createFault(name, options.topic ?? 'events.v1');
      const killedAt = Date.now();
      const killed = await fault.inject(ctx);
      ctx.say(`▶ ${name}: killed ${killed}`);
      const recovery = timeToRecover({
        since: killedAt,
        ingestUrls,
        servingUrls,
        pool,
        redis,
        keyPrefix: DEFAULT_REDIS_KEY_PREFIX,
        runId,
        product: products[0]!,
      });
      await sleep(ctx.holdMs);
      await fault.restore(ctx);
      const recoveryMs = await recovery;
      ctx.say(`  ${name}: restored; ${recoveryMs === undefined ? 'did not recover' : `recovered in ${(recoveryMs / 1000).toFixed(1)} s`}`);
      await sleep(settleMs);
      const traffic = load.nextPhase();
      await load.settled(traffic);
      for (const user of traffic.users) allUsers.add(user);
      const users = [...traffic.users];

      const archive = await archiveOnceCaughtUp(traffic.accepted);
      const referencePrefix = `chaos-ref:${runId}:${name}:`;
      const differing = await sessionsOnceCaughtUp(users, referencePrefix);
      const published = fault.runId === undefined ? undefined : timesPublished(ctx.logLines(), fault.runId);
      const row: FaultRow = {
        fault: name,
        killed,
        traffic,
        archive,
        sessionsDiffering: differing.length,
        sessionsChecked: users.length,
        recoveryMs,
        ...(published === undefined ? {} : { published }),
        holds: archive.missing === 0 && archive.duplicated === 0 && differing.length === 0 && (published === undefined || published === 1),
      };
      rows.push(row);
      ctx.say(
        `  ${name}: ${traffic.accepted.length} accepted, ${archive.missing} missing, ${archive.duplicated} duplicated, ${differing.length}/${users.length} sessions differ${published === undefined ? '' : `, published ${published}×`} → ${row.holds ? 'holds' : 'FAILS'}`,
      );
    }
    stopped = true;
    const tail = await load.stop();
    for (const user of tail.users) allUsers.add(user);
    ctx.say('▶ load stopped: the last events, and every session of the run once more');
    const users = [...allUsers];
    const final: FinalCheck = {
      archive: await archiveOnceCaughtUp(tail.accepted),
      sessionsDiffering: (await sessionsOnceCaughtUp(users, `chaos-ref:${runId}:final:`)).length,
      sessionsChecked: users.length,
    };
    const finalHolds = final.archive.missing === 0 && final.archive.duplicated === 0 && final.sessionsDiffering === 0;
    return { rows, final, holds: finalHolds && rows.every((row) => row.holds) };
  } finally {
    if (!stopped) await load.stop();
  }
}

/** The summary table, one row per fault, in the order run. */
export function formatTable(rows: readonly FaultRow[]): string {
  const header = [
    'fault',
    'killed',
    '202 events',
    'archived',
    'lost',
    'dup',
    'sessions ≠',
    'longest 503 run',
    'ingest retries',
    'serving non-200',
    'given up',
    'recovery',
    'holds',
  ];
  const body = rows.map((r) => [
    r.fault,
    r.killed,
    String(r.traffic.accepted.length),
    String(r.traffic.accepted.length - r.archive.missing),
    String(r.archive.missing),
    String(r.archive.duplicated),
    `${r.sessionsDiffering}/${r.sessionsChecked}`,
    String(r.traffic.longest503Run),
    String(r.traffic.postFailures),
    `${r.traffic.getNon200}/${r.traffic.gets}`,
    `${r.traffic.postsGivenUp} POST, ${r.traffic.getsGivenUp} GET`,
    r.recoveryMs === undefined ? 'no' : `${(r.recoveryMs / 1000).toFixed(1)} s`,
    (r.holds ? 'yes' : 'NO') + (r.published === undefined ? '' : ` (published ${r.published}×)`),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
