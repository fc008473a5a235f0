import basicAuth from '@fastify/basic-auth';
import { ERROR_CODES, LrecError } from '@lambdarec/contracts';
import { createLoginThrottle, type LoginAttempt, type LoginThrottle } from './login-throttle.js';
import { secretsEqual as same } from './secrets.js';
import type { FastifyInstance } from 'fastify';

export interface Credentials {
  user: string;
  password: string;
}

export interface BasicAuthOptions {
  /**
   * Failed logins a client address may make before it is answered 429. Share one between the
   * scopes of a service, so that they share the budget. @defaultValue 10 a minute, in this scope's memory
   */
  throttle?: LoginThrottle;
}

/** Basic auth for the operator surface (dashboard, run now); registers `app.basicAuth` in the calling scope. */
export async function registerBasicAuth(
  scope: FastifyInstance,
  { user, password }: Credentials,
  { throttle = createLoginThrottle() }: BasicAuthOptions = {},
) {
  await scope.register(basicAuth, {
    authenticate: { realm: 'lambdarec operations' },
    async validate(givenUser, givenPassword, request, reply) {
      let attempt: LoginAttempt;
      try {
        attempt = await throttle.attempt(request.ip);
      } catch (err) {
        // Set here, not only by our error handler: Bull Board's routes answer errors with their own.
        if (err instanceof LrecError && err.retryAfterSeconds !== undefined)
          void reply.header('retry-after', String(err.retryAfterSeconds));
        throw err;
      }
      // Both are compared, whatever the first gives: the time says nothing about which was wrong.
      const userMatches = same(givenUser, user);
      const passwordMatches = same(givenPassword, password);
      if (!(userMatches && passwordMatches)) {
        throw new LrecError(ERROR_CODES.UNAUTHORIZED, 'valid DASHBOARD_USER / DASHBOARD_PASSWORD credentials are required', {
          statusCode: 401,
        });
      }
      attempt.succeeded();
    },
  });
}
