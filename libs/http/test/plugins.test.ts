import { ERROR_CODES, LrecError } from '@lambdarec/contracts';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMetricsRegistry } from '@lambdarec/metrics';
import {
  assertSameOriginWrite,
  bearerToken,
  createHttpServer,
  errorHandlerPlugin,
  healthPlugin,
  metricsPlugin,
  secretsEqual,
} from '../src/index.js';

async function buildApp() {
  const app = createHttpServer({ log: pino({ level: 'silent' }), bodyLimit: 1024 });
  await app.register(errorHandlerPlugin);
  await app.register(metricsPlugin, { registry: createMetricsRegistry('http-test') });
  await app.register(healthPlugin, {
    timeoutMs: 100,
    checks: {
      fine: async () => 'ok',
      broken: async () => {
        throw new Error('connection refused');
      },
      slow: () => new Promise((resolve) => setTimeout(resolve, 1_000)),
    },
  });
  app.get('/items/:id', { schema: { params: z.object({ id: z.string().regex(/^\d+$/, 'id must be digits') }) } }, async (req) => ({
    id: req.params.id,
  }));
  app.post('/echo', async (req) => req.body);
  app.get('/conflict', async () => {
    throw new LrecError(ERROR_CODES.RUN_IN_PROGRESS, 'a run is active', { statusCode: 409 });
  });
  app.get('/unavailable', async () => {
    throw new LrecError(ERROR_CODES.BROKER_UNAVAILABLE, 'try again later', { statusCode: 503, retryAfterSeconds: 7 });
  });
  app.get('/db-down', async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:55432'), { code: 'ECONNREFUSED' });
  });
  app.get('/pg-timeout', async () => {
    throw new Error('timeout exceeded when trying to connect');
  });
  app.get('/long/:id', { schema: { params: z.object({ id: z.string().max(128, 'id must be at most 128 characters') }) } }, async (req) => ({
    id: req.params.id,
  }));
  app.post('/guarded', { onRequest: async (request) => assertSameOriginWrite(request) }, async () => ({ done: true }));
  app.get('/guarded', { onRequest: async (request) => assertSameOriginWrite(request) }, async () => ({ read: true }));
  app.get('/bug', async () => {
    throw new Error('secret table users_passwords does not exist');
  });
  return app;
}

describe('error handler', () => {
  it('answers a schema violation with 400, the path and the message', async () => {
    const app = await buildApp();
    const res = await app.inject('/items/abc');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'LREC_INVALID_REQUEST',
      message: 'params.id: id must be digits',
      issues: [{ path: ['params', 'id'] }],
    });
  });

  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const app = await buildApp();
    const malformed = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"a":' });
    expect(malformed.statusCode).toBe(400);
    const big = await app.inject({ method: 'POST', url: '/echo', payload: { pad: 'x'.repeat(2048) } });
    expect(big.statusCode).toBe(413);
  });

  it('passes an LrecError status, code and Retry-After through', async () => {
    const app = await buildApp();
    const conflict = await app.inject('/conflict');
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ code: 'LREC_RUN_IN_PROGRESS', message: 'a run is active' });
    const unavailable = await app.inject('/unavailable');
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('7');
  });

  it('answers an unexpected error with 500 and nothing internal', async () => {
    const app = await buildApp();
    const res = await app.inject('/bug');
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toMatch(/users_passwords/);
    expect(res.json().message).toBe('internal error');
  });

  it('answers a store or broker being down with 503 and Retry-After, without its address', async () => {
    const app = await buildApp();
    for (const url of ['/db-down', '/pg-timeout']) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(503);
      expect(res.headers['retry-after'], url).toBe('5');
      expect(res.json().code, url).toBe('LREC_STORE_UNAVAILABLE');
      expect(res.body, url).not.toMatch(/55432/);
    }
  });

  it('lets path parameters of 128 characters and more reach validation (400, not 414)', async () => {
    const app = await buildApp();
    expect((await app.inject(`/long/${'a'.repeat(128)}`)).statusCode).toBe(200);
    const tooLong = await app.inject(`/long/${'a'.repeat(129)}`);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().message).toMatch(/at most 128/);
  });

  it('ignores X-Forwarded-For unless a proxy is trusted', async () => {
    const direct = createHttpServer({ log: pino({ level: 'silent' }) });
    direct.get('/ip', async (req) => ({ ip: req.ip }));
    expect((await direct.inject({ url: '/ip', headers: { 'x-forwarded-for': '203.0.113.9' } })).json().ip).toBe('127.0.0.1');
    const proxied = createHttpServer({ log: pino({ level: 'silent' }), trustProxy: 1 });
    proxied.get('/ip', async (req) => ({ ip: req.ip }));
    expect((await proxied.inject({ url: '/ip', headers: { 'x-forwarded-for': '203.0.113.9' } })).json().ip).toBe('203.0.113.9');
  });

  it('answers an unknown route with 404 naming it', async () => {
    const app = await buildApp();
    const res = await app.inject('/nope?x=1');
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toBe('no route GET /nope');
  });
});

describe('health and metrics', () => {
  it('reports alive on /healthz and names every failing or slow dependency on /readyz with 503', async () => {
    const app = await buildApp();
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().down.sort()).toEqual(['broken', 'slow']);
    expect(ready.json().dependencies.fine).toEqual({ status: 'up' });
    expect(ready.json().dependencies.slow).toEqual({ status: 'down' });
    expect(ready.body).not.toMatch(/connection refused/);
  });

  it('counts requests per route in Prometheus format', async () => {
    const app = await buildApp();
    await app.inject('/items/1');
    const metrics = await app.inject('/metrics');
    expect(metrics.headers['content-type']).toMatch(/text\/plain/);
    const line = metrics.body
      .split('\n')
      .find((l) => l.startsWith('http_request_duration_seconds_count') && l.includes('route="/items/:id"'));
    expect(line).toMatch(/status_code="200"/);
    expect(line).toMatch(/ 1$/);
  });
});

describe('assertSameOriginWrite', () => {
  const post = async (headers: Record<string, string>) =>
    (await buildApp()).inject({ method: 'POST', url: '/guarded', headers: { host: 'ops.example:3002', ...headers } });

  it('refuses a write from another origin, a null origin or a cross-site fetch with 403', async () => {
    const cases: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { origin: 'http://ops.example:9999' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of cases) {
      const res = await post(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json().code).toBe('LREC_FORBIDDEN');
    }
  });

  it('lets through a write from the same origin, and one without browser headers (curl)', async () => {
    const cases: Array<Record<string, string>> = [{ origin: 'http://ops.example:3002' }, { 'sec-fetch-site': 'same-origin' }, {}];
    for (const headers of cases) {
      expect((await post(headers)).statusCode, JSON.stringify(headers)).toBe(200);
    }
  });

  it('never blocks a read', async () => {
    const res = await (await buildApp()).inject({ method: 'GET', url: '/guarded', headers: { origin: 'https://evil.example' } });
    expect(res.statusCode).toBe(200);
  });
});

describe('secrets', () => {
  it('reads a bearer token and compares secrets exactly', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer   abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(secretsEqual('same-secret', 'same-secret')).toBe(true);
    expect(secretsEqual('same-secret', 'same-secreT')).toBe(false);
    expect(secretsEqual('', 'x')).toBe(false);
  });
});

describe('optional readiness checks', () => {
  it('report a dependency that is down as degraded while the service stays ready', async () => {
    const app = createHttpServer({ log: pino({ level: 'silent' }) });
    await app.register(healthPlugin, {
      checks: { kafka: async () => 'ok' },
      optionalChecks: {
        postgres: async () => {
          throw new Error('connection refused');
        },
      },
    });
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'degraded',
      down: [],
      degraded: ['postgres'],
      dependencies: { kafka: { status: 'up' }, postgres: { status: 'down' } },
    });
  });
});

describe('readiness in the log', () => {
  it('logs when a check starts failing, changes reason or passes again, not at every probe', async () => {
    const lines: Array<{
      level: number;
      msg: string;
      dependency?: string;
      downForMs?: number;
      probes?: number;
      err?: { message: string };
    }> = [];
    let clock = 1_000_000;
    let failure: string | undefined = 'connection refused';
    const app = createHttpServer({
      log: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) }),
    });
    await app.register(healthPlugin, {
      checks: {
        postgres: async () => {
          if (failure !== undefined) throw new Error(failure);
        },
      },
      repeatLogMs: 60_000,
      now: () => clock,
    });
    const probe = async (advanceMs: number) => {
      clock += advanceMs;
      return (await app.inject('/readyz')).statusCode;
    };
    const said = () => lines.filter((line) => line.dependency === 'postgres').map((line) => line.msg);

    expect(await probe(0)).toBe(503);
    for (let i = 0; i < 5; i++) expect(await probe(5_000)).toBe(503);
    expect(said()).toEqual(['readiness check failed']);
    // A minute on, still down for the same reason: said once more, with how long and how often.
    await probe(40_000);
    expect(said()).toEqual(['readiness check failed', 'readiness check still failing']);
    expect(lines.at(-1)).toMatchObject({ downForMs: 65_000, probes: 7 });
    // A new reason is news at once.
    failure = 'password authentication failed';
    await probe(1_000);
    expect(lines.at(-1)).toMatchObject({ msg: 'readiness check failed', err: { message: 'password authentication failed' } });
    failure = undefined;
    expect(await probe(1_000)).toBe(200);
    expect(await probe(1_000)).toBe(200);
    expect(said()).toEqual([
      'readiness check failed',
      'readiness check still failing',
      'readiness check failed',
      'readiness check passes again',
    ]);
    expect(lines.at(-1)).toMatchObject({ level: 30, downForMs: 67_000, probes: 8 });
  });
});
