import { sessionKey } from '@lambdarec/contracts';
import { eventsThatCount, type BotFlag, type SessionPolicy, type SessionSignal } from '@lambdarec/domain';
import { createRequire } from 'node:module';
import { isCluster, type RedisClient } from '@lambdarec/clients';
import { createBotFlagLedger, type BotFlagLedger } from './bot-flag-ledger.js';
import { redisScript } from './redis-scripts.js';
import {
  BOT_REASONS_BY_CODE,
  CATEGORY_SEPARATORS,
  decodeSession,
  eventFingerprint,
  FIELDS_PER_EVENT,
  PRODUCT_SEPARATORS,
  TYPE_CODES,
  type SessionSnapshot,
} from './session-format.js';

/** An event as the speed layer writes it into a session. */
export interface SessionWrite extends SessionSignal {
  /**
   * Arrival time (epoch ms), on which the bot guard judges the event. Absent: the guard does not
   * judge it (a history import, sent with the operator's key).
   */
  arrivedAt?: number;
  /** Judged by the bot guard only: too old (event time) to be kept in the session. */
  judgeOnly?: boolean;
}

/**
 * A user whose flag a write raised, extended, or found: an event of the write arrived inside it
 * (a redelivery reports the flag again, so a lost ledger write is made good).
 */
export interface BotFlagRaised extends BotFlag {
  userId: string;
  /** A new flag (false: a flag that was already on, extended or found). */
  raised: boolean;
  /** The newest arrival the guard has judged for the user. */
  at: number;
}

export interface SessionStore {
  /**
   * Applies events; idempotent, so a redelivered event changes nothing. Answers the users whose
   * bot flag these events raised, extended or fell inside, after recording those flags for the
   * batch layer (a failed ledger write fails the call, and its redelivery writes them again).
   */
  record(signals: readonly SessionWrite[]): Promise<BotFlagRaised[]>;
  /** The session as serving uses it: without the events a bot flag discounts (see eventsThatCount). */
  read(userId: string): Promise<SessionSnapshot>;
  /** The whole stored session, flagged events included: the operator's view. */
  inspect(userId: string): Promise<SessionSnapshot>;
}

type RecordSessionsCommand = (...numberOfKeysKeysAndArgs: Array<string | number>) => Promise<Array<number | string>>;

/** The hash slot of a key, by the function ioredis routes with (cluster-key-slot, which ships no types). */
const keySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

/** Consecutive runs of at most `size`. */
const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * Session state in Redis: one compact string per user (the layout in session-format.ts, ADR 010). Writes
 * go through one Lua script call per `usersPerCall` users of a consumed batch, pipelined, so a
 * batch costs one round trip (on a Redis Cluster, one call per slot's users, sent together); reads are one GET. Redelivery is harmless because events are keyed by fingerprint, and
 * memory is bounded by the windows, the counts and the key's expiry.
 */
export function createSessionStore({
  redis,
  keyPrefix,
  policy,
  usersPerCall = 50,
  botFlags = createBotFlagLedger({ redis, keyPrefix }),
}: {
  redis: RedisClient;
  keyPrefix: string;
  policy: SessionPolicy;
  /**
   * Users written by one script call. Redis runs a script to its end before any other command,
   * so a call holds every reader (serving) for as long as it runs: 50 users keep that hold short,
   * and already make the cost of the call itself small (ADR 014).
   * @defaultValue 50
   */
  usersPerCall?: number;
  /** Where flags are recorded for the batch layer. @defaultValue a ledger under `keyPrefix` */
  botFlags?: Pick<BotFlagLedger, 'add'>;
}): SessionStore {
  // No fixed number of keys: the first argument of each call says how many follow.
  redis.defineCommand('lrecRecordSessions', { lua: redisScript('record-sessions') });
  const limits = [
    policy.sessionWindowMs,
    policy.purchaseSuppressionMs,
    policy.maxSignals,
    policy.maxPurchases,
    policy.botMaxEventsPerMinute,
    policy.botRepeatLimit,
    policy.botRepeatWindowMs,
    policy.botFlagMs,
  ].map(String);
  /**
   * On a Cluster a script's keys must share a slot: a call takes users of one slot only. Users
   * rarely share a slot, so a big batch makes about one call per user, each small.
   */
  const callsBySlot = (users: readonly string[]): string[][] => {
    const bySlot = new Map<number, string[]>();
    for (const userId of users) {
      const slot = keySlot(sessionKey(keyPrefix, userId));
      let slotUsers = bySlot.get(slot);
      if (slotUsers === undefined) bySlot.set(slot, (slotUsers = []));
      slotUsers.push(userId);
    }
    return [...bySlot.values()].flatMap((slotUsers) => chunks(slotUsers, usersPerCall));
  };

  /** One server: every call in one pipeline, one round trip for the batch. */
  const sendPipelined = async (calls: Array<Array<string | number>>) => {
    const pipeline = redis.pipeline();
    const recordSessions = (pipeline as unknown as { lrecRecordSessions: RecordSessionsCommand }).lrecRecordSessions.bind(pipeline);
    for (const args of calls) void recordSessions(...args);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err !== null);
    if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('redis pipeline aborted');
    return results.map(([, reply]) => reply as Array<number | string>);
  };

  /**
   * A Cluster: each call on its own, to the node of its slot (a Cluster pipeline must stay on one
   * node). They are all sent before any reply is awaited, so each node's calls still travel
   * together. Every call is settled before a failure is thrown: the redelivery then never races
   * a call of this attempt.
   */
  const sendEach = async (calls: Array<Array<string | number>>) => {
    const recordSessions = (redis as unknown as { lrecRecordSessions: RecordSessionsCommand }).lrecRecordSessions.bind(redis);
    const settled = await Promise.allSettled(calls.map((args) => recordSessions(...args)));
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return settled.map((outcome) => (outcome as PromiseFulfilledResult<Array<number | string>>).value);
  };

  return {
    async record(signals) {
      if (signals.length === 0) return [];
      const byUser = new Map<string, string[]>();
      for (const s of signals) {
        let fields = byUser.get(s.userId);
        if (fields === undefined) byUser.set(s.userId, (fields = []));
        fields.push(
          eventFingerprint(s.eventId),
          TYPE_CODES[s.type],
          s.judgeOnly === true ? '' : String(s.at),
          s.productId.replace(PRODUCT_SEPARATORS, ''),
          (s.category ?? '').replace(CATEGORY_SEPARATORS, ''),
          s.arrivedAt === undefined ? '' : String(s.arrivedAt),
        );
      }
      const users = [...byUser.keys()];
      const argsOf = (callUsers: readonly string[]) => {
        const args: Array<string | number> = [callUsers.length, ...callUsers.map((userId) => sessionKey(keyPrefix, userId)), ...limits];
        for (const userId of callUsers) {
          const fields = byUser.get(userId)!;
          args.push(fields.length / FIELDS_PER_EVENT);
          for (const field of fields) args.push(field);
        }
        return args;
      };
      const calls = isCluster(redis) ? callsBySlot(users) : chunks(users, usersPerCall);
      const replies = isCluster(redis) ? await sendEach(calls.map(argsOf)) : await sendPipelined(calls.map(argsOf));
      const flagged: BotFlagRaised[] = [];
      replies.forEach((values, call) => {
        for (let i = 0; i < values.length; i += 6) {
          const reason = BOT_REASONS_BY_CODE.get(String(values[i + 2]));
          if (reason === undefined) continue;
          // The reply names a user by its place among the call's keys.
          const userId = calls[call]![Number(values[i]) - 1]!;
          flagged.push({
            userId,
            reason,
            from: Number(values[i + 3]),
            until: Number(values[i + 4]),
            raised: Number(values[i + 1]) === 1,
            at: Number(values[i + 5]),
          });
        }
      });
      // After the sessions. If this fails (or the process dies first), the events are delivered
      // again; they fall inside the flag, so the script reports it again and it is written then.
      if (flagged.length > 0) await botFlags.add(flagged.map(({ userId, reason, from, until }) => ({ userId, reason, from, until })));
      return flagged;
    },

    async read(userId) {
      const snapshot = decodeSession(await redis.get(sessionKey(keyPrefix, userId)), userId, policy);
      return { ...snapshot, signals: eventsThatCount(snapshot.signals) };
    },

    async inspect(userId) {
      return decodeSession(await redis.get(sessionKey(keyPrefix, userId)), userId, policy);
    },
  };
}
