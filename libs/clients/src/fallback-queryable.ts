import type pg from 'pg';
import { Counter, type Registry } from '@lambdarec/metrics';
import type { Logger } from './logger.js';

/** What a repository that only runs single statements needs: a pool, or a read side that routes them. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * Why a read went to the fallback: the preferred server failed it (`unavailable`: refused, reset,
 * no connection in time; `timeout`: the statement gave up; `recovery-conflict`: a standby cancelled
 * it to replay WAL; `behind`: it has not replayed the data asked for yet; `error`: anything else),
 * or it was skipped (`skipped`) while a recent failure is being checked.
 */
export type FallbackReason = 'unavailable' | 'timeout' | 'recovery-conflict' | 'behind' | 'error' | 'skipped';

/**
 * The SQLSTATE a statement raises on a standby that has not replayed what it needs yet (for
 * example a batch run published a moment ago on the primary). It is a reason to ask the primary,
 * not a failure of the standby.
 */
export const REPLICA_BEHIND_SQLSTATE = 'LR001';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE']);

export function fallbackReasonOf(err: unknown): Exclude<FallbackReason, 'skipped'> {
  const { code, message = '' } = (err ?? {}) as { code?: string; message?: string };
  if (code === REPLICA_BEHIND_SQLSTATE) return 'behind';
  // 40001 is every serialization failure; only the standby's own wording says it was replay.
  if (message.includes('conflict with recovery')) return 'recovery-conflict';
  if (message.includes('Query read timeout') || code === '57014') return 'timeout';
  // 57P01–57P03: the server shuts down or is still starting; 08xxx: the connection broke.
  if (
    (code !== undefined && (CONNECTION_CODES.has(code) || code.startsWith('57P') || code.startsWith('08'))) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(message)
  )
    return 'unavailable';
  return 'error';
}

export interface FallbackQueryable extends Queryable {
  /** Whether reads go to the preferred server now (false while a failure is being checked). */
  preferring(): boolean;
  /** Stops the background check. The pools are borrowed and stay open. Idempotent. */
  close(): void;
}

/**
 * Reads from `preferred` (a hot standby), and the same statement from `fallback` (the primary)
 * when it fails there; when both fail, the fallback's error is thrown, so the caller degrades as it
 * did with one server. After a failure the preferred server is skipped, and checked every
 * `retryMs` in the background with `SELECT 1` until it answers: a dead or stalled standby costs
 * one read its timeout, not every request. Statements must be reads: a standby refuses writes,
 * LISTEN, and functions that need a transaction id.
 */
export function createFallbackQueryable({
  preferred,
  fallback,
  log,
  registry,
  retryMs = 5_000,
  now = Date.now,
}: {
  /** Borrowed: whoever created it closes it. */
  preferred: Queryable;
  /** Borrowed: whoever created it closes it. */
  fallback: Queryable;
  log: Logger;
  registry: Registry;
  /** How long the preferred server is skipped after a failure before it is checked again. @defaultValue 5000 */
  retryMs?: number;
  now?: () => number;
}): FallbackQueryable {
  const fallbacks = new Counter({
    name: 'lrec_postgres_read_fallbacks_total',
    help: 'Reads that went to the primary instead of the standby, by reason (skipped: the standby failed recently and is being checked)',
    labelNames: ['reason'],
    registers: [registry],
  });
  let skippingSince: number | undefined;
  let check: NodeJS.Timeout | undefined;
  let closed = false;

  const scheduleCheck = () => {
    if (closed || check !== undefined) return;
    check = setTimeout(() => {
      preferred.query('SELECT 1').then(
        () => {
          check = undefined;
          log.info({ skippedForMs: now() - (skippingSince ?? now()) }, 'standby answers again; reading from it');
          skippingSince = undefined;
        },
        (err: unknown) => {
          check = undefined;
          log.debug({ err }, 'standby still failing');
          scheduleCheck();
        },
      );
    }, retryMs).unref();
  };

  const skipPreferred = (err: unknown, reason: FallbackReason) => {
    if (skippingSince === undefined) {
      skippingSince = now();
      log.warn({ err, reason, retryMs }, 'standby read failed; reading from the primary while checking it');
    }
    scheduleCheck();
  };

  return {
    async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]) {
      if (skippingSince !== undefined) {
        fallbacks.inc({ reason: 'skipped' });
        return fallback.query<R>(text, values);
      }
      try {
        return await preferred.query<R>(text, values);
      } catch (err) {
        const reason = fallbackReasonOf(err);
        fallbacks.inc({ reason });
        skipPreferred(err, reason);
        return fallback.query<R>(text, values);
      }
    },
    preferring: () => skippingSince === undefined,
    close() {
      closed = true;
      clearTimeout(check);
      check = undefined;
    },
  };
}
