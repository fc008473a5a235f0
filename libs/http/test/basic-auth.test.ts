import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import {
  createHttpServer,
  createLoginThrottle,
  createMemoryLoginAttemptCounts,
  errorHandlerPlugin,
  registerBasicAuth,
  type LoginThrottle,
} from '../src/index.js';

const credentials = { user: 'ops', password: 'right-password' };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const RIGHT = basic('ops', 'right-password');
const WRONG = basic('ops', 'a-guess');

async function buildApp(throttle?: LoginThrottle) {
  const app = createHttpServer({ log: pino({ level: 'silent' }) });
  await app.register(errorHandlerPlugin);
  await app.register(async (scope: FastifyInstance) => {
    await registerBasicAuth(scope, credentials, throttle === undefined ? {} : { throttle });
    scope.get('/operator', { onRequest: scope.basicAuth }, async () => ({ ok: true }));
  });
  return app;
}

const login = (app: Awaited<ReturnType<typeof buildApp>>, authorization: string, remoteAddress = '203.0.113.7') =>
  app.inject({ url: '/operator', headers: { authorization }, remoteAddress });

describe('basic auth against password guessing', () => {
  it('after 10 failed logins from an address in a minute, answers 429 with Retry-After without checking the password, until the minute ends', async () => {
    let now = Date.parse('2026-12-07T10:00:05Z');
    const app = await buildApp(createLoginThrottle({ now: () => now }));
    for (let i = 0; i < 10; i++) expect((await login(app, WRONG)).statusCode).toBe(401);
    const refused = await login(app, RIGHT);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('55');
    expect(refused.headers['www-authenticate']).toBeUndefined();
    expect(refused.json().code).toBe('LREC_RATE_LIMITED');
    // Another address is not held up by this one's guesses.
    expect((await login(app, RIGHT, '198.51.100.1')).statusCode).toBe(200);
    now = Date.parse('2026-12-07T10:01:00Z');
    expect((await login(app, RIGHT)).statusCode).toBe(200);
  });

  it('the default throttle of the helper stops guessing too', async () => {
    const app = await buildApp();
    const codes = [];
    for (let i = 0; i < 12; i++) codes.push((await login(app, WRONG)).statusCode);
    expect(codes).toEqual([...Array<number>(10).fill(401), 429, 429]);
  });

  it('successful logins use up nothing: an operator who logs in often and mistypes a few times is never refused', async () => {
    const app = await buildApp(createLoginThrottle({ now: () => Date.parse('2026-12-07T10:00:00Z') }));
    for (let i = 0; i < 30; i++) expect((await login(app, RIGHT)).statusCode).toBe(200);
    for (let i = 0; i < 9; i++) expect((await login(app, WRONG)).statusCode).toBe(401);
    for (let i = 0; i < 30; i++) expect((await login(app, RIGHT)).statusCode).toBe(200);
  });

  it('parallel guesses get no more than 10 password checks: each attempt is counted before its check', async () => {
    const app = await buildApp(createLoginThrottle({ now: () => Date.parse('2026-12-07T10:00:00Z') }));
    const codes = (await Promise.all(Array.from({ length: 40 }, () => login(app, WRONG)))).map((res) => res.statusCode);
    expect(codes.filter((code) => code === 401)).toHaveLength(10);
    expect(codes.filter((code) => code === 429)).toHaveLength(30);
  });

  it('instances that share the counts share the budget, and counts that fail fall back to the instance own', async () => {
    const shared = createMemoryLoginAttemptCounts();
    const now = () => Date.parse('2026-12-07T10:00:00Z');
    const [a, b] = [
      await buildApp(createLoginThrottle({ counts: shared, now })),
      await buildApp(createLoginThrottle({ counts: shared, now })),
    ];
    for (let i = 0; i < 5; i++) expect((await login(a, WRONG)).statusCode).toBe(401);
    for (let i = 0; i < 5; i++) expect((await login(b, WRONG)).statusCode).toBe(401);
    expect((await login(a, WRONG)).statusCode).toBe(429);

    const unavailable: unknown[] = [];
    const broken = {
      increment: () => Promise.reject(new Error('connection is closed')),
      decrement: () => Promise.reject(new Error('connection is closed')),
    };
    const c = await buildApp(createLoginThrottle({ counts: broken, now, onUnavailable: (err) => unavailable.push(err) }));
    for (let i = 0; i < 10; i++) expect((await login(c, WRONG)).statusCode).toBe(401);
    expect((await login(c, WRONG)).statusCode).toBe(429);
    expect(unavailable.length).toBeGreaterThan(0);
  });
});
