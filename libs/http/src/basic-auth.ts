import basicAuth from '@fastify/basic-auth';
import { ERROR_CODES, LrecError } from '@lambdarec/contracts';
import { secretsEqual as same } from './secrets.js';
import type { FastifyInstance } from 'fastify';

export interface Credentials {
  user: string;
  password: string;
}

/** Basic auth for the operator surface (dashboard, run now); registers `app.basicAuth` in the calling scope. */
export async function registerBasicAuth(scope: FastifyInstance, { user, password }: Credentials) {
  await scope.register(basicAuth, {
    authenticate: { realm: 'lambdarec operations' },
    async validate(givenUser, givenPassword) {
      // Both are compared, whatever the first gives: the time says nothing about which was wrong.
      const userMatches = same(givenUser, user);
      const passwordMatches = same(givenPassword, password);
      if (!(userMatches && passwordMatches)) {
        throw new LrecError(ERROR_CODES.UNAUTHORIZED, 'valid DASHBOARD_USER / DASHBOARD_PASSWORD credentials are required', { statusCode: 401 });
      }
    },
  });
}
