import { createHash, timingSafeEqual } from 'node:crypto';
import basicAuth from '@fastify/basic-auth';
import { ERROR_CODES, LrecError } from '@lambdarec/contracts';
import type { FastifyInstance } from 'fastify';

export interface Credentials {
  user: string;
  password: string;
}

// Comparing digests takes the same time whatever the lengths, and neither comparison short-circuits.
const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** Basic auth for the operator surface (dashboard, run now); registers `app.basicAuth` in the calling scope. */
export async function registerBasicAuth(scope: FastifyInstance, { user, password }: Credentials) {
  await scope.register(basicAuth, {
    authenticate: { realm: 'lambdarec operations' },
    async validate(givenUser, givenPassword) {
      const userMatches = same(givenUser, user);
      const passwordMatches = same(givenPassword, password);
      if (!(userMatches && passwordMatches)) {
        throw new LrecError(ERROR_CODES.UNAUTHORIZED, 'valid DASHBOARD_USER / DASHBOARD_PASSWORD credentials are required', { statusCode: 401 });
      }
    },
  });
}
