import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** A dependency check: resolves when the dependency answers, rejects (or times out) when not. */
export type ReadinessCheck = () => Promise<unknown>;

export interface HealthOptions {
  checks: Record<string, ReadinessCheck>;
  /**
   * Dependencies the service can do without for a while: reported (`degraded`), but the service
   * stays ready. Ingest takes events with Postgres down, and a load balancer must keep sending them.
   */
  optionalChecks?: Record<string, ReadinessCheck>;
  /** @defaultValue 1000 */
  timeoutMs?: number;
  /** While a check keeps failing for the same reason, how often the log says so again. @defaultValue 60000 */
  repeatLogMs?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

interface Failing {
  /** When the outage began (a new reason does not restart it). */
  since: number;
  reason: string;
  /** Probes that failed during the outage. */
  probes: number;
  loggedAt: number;
}

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });

/** GET /healthz (the process answers) and GET /readyz (every dependency answers: 200, else 503 naming it). */
export const healthPlugin = fp<HealthOptions>(
  async (app: FastifyInstance, { checks, optionalChecks = {}, timeoutMs = 1000, repeatLogMs = 60_000, now = Date.now }) => {
    // The log records changes, not probes: a load balancer asks every few seconds, and a line per
    // probe while Postgres is down would bury everything else. A failure is logged when it starts
    // or its reason changes, then at most once per repeatLogMs; the recovery is logged once.
    const failing = new Map<string, Failing>();
    const recordFailure = (log: FastifyBaseLogger, dependency: string, err: unknown) => {
      const at = now();
      const reason = err instanceof Error ? err.message : String(err);
      const known = failing.get(dependency);
      if (known === undefined || known.reason !== reason) {
        failing.set(dependency, { since: known?.since ?? at, reason, probes: (known?.probes ?? 0) + 1, loggedAt: at });
        // The reason (hosts, ports, auth errors) goes to the log, not to whoever asks.
        log.warn({ dependency, err }, 'readiness check failed');
        return;
      }
      known.probes += 1;
      if (at - known.loggedAt >= repeatLogMs) {
        known.loggedAt = at;
        log.warn({ dependency, err, downForMs: at - known.since, probes: known.probes }, 'readiness check still failing');
      }
    };
    const recordSuccess = (log: FastifyBaseLogger, dependency: string) => {
      const known = failing.get(dependency);
      if (known === undefined) return;
      failing.delete(dependency);
      log.info({ dependency, downForMs: now() - known.since, probes: known.probes }, 'readiness check passes again');
    };
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
      const all = { ...optionalChecks, ...checks };
      const names = Object.keys(all);
      const results = await Promise.allSettled(names.map((name) => withTimeout(Promise.resolve().then(all[name]!), timeoutMs)));
      const dependencies: Record<string, { status: 'up' | 'down' }> = {};
      const down: string[] = [];
      const degraded: string[] = [];
      results.forEach((result, i) => {
        const name = names[i]!;
        if (result.status === 'fulfilled') {
          dependencies[name] = { status: 'up' };
          recordSuccess(request.log, name);
        } else {
          (name in checks ? down : degraded).push(name);
          dependencies[name] = { status: 'down' };
          recordFailure(request.log, name, result.reason);
        }
      });
      const status = down.length > 0 ? 'unavailable' : degraded.length > 0 ? 'degraded' : 'ready';
      return reply.status(down.length === 0 ? 200 : 503).send({ status, down, ...(degraded.length > 0 ? { degraded } : {}), dependencies });
    });
  },
  { name: 'lrec-health' },
);
