import type { FastifyInstance } from 'fastify';
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
  async (app: FastifyInstance, { checks, optionalChecks = {}, timeoutMs = 1000 }) => {
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
        if (result.status === 'fulfilled') dependencies[name] = { status: 'up' };
        else {
          (name in checks ? down : degraded).push(name);
          dependencies[name] = { status: 'down' };
          // The reason (hosts, ports, auth errors) goes to the log, not to whoever asks.
          request.log.warn({ dependency: name, err: result.reason }, 'readiness check failed');
        }
      });
      const status = down.length > 0 ? 'unavailable' : degraded.length > 0 ? 'degraded' : 'ready';
      return reply.status(down.length === 0 ? 200 : 503).send({ status, down, ...(degraded.length > 0 ? { degraded } : {}), dependencies });
    });
  },
  { name: 'lrec-health' },
);
