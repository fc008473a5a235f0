import { timingSafeEqual } from 'node:crypto';
import basicAuth from '@fastify/basic-auth';
import { ERROR_CODES, LrecError } from '@lambdarec/contracts';
import type { FastifyInstance } from 'fastify';

export interface Credentials {
  user: string;
  password: string;
}

const same = (a: string, b: string): boolean => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/** Basic auth for the operator surface (dashboard, run now); registers `app.basicAuth` in the calling scope. */
export async function registerBasicAuth(scope: FastifyInstance, { user, password }: Credentials) {
  await scope.register(basicAuth, {
    authenticate: { realm: 'lambdarec operations' },
    async validate(givenUser, givenPassword) {
      if (!(same(givenUser, user) && same(givenPassword, password))) {
        throw new LrecError(ERROR_CODES.INVALID_REQUEST, 'valid DASHBOARD_USER / DASHBOARD_PASSWORD credentials are required', { statusCode: 401 });
      }
    },
  });
}
