import { ERROR_CODES, LrecError } from '@lambdarec/contracts';
import type { FastifyRequest } from 'fastify';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses state-changing requests that a browser sends on behalf of another site (CSRF). A browser
 * keeps basic-auth credentials for the dashboard and adds them to a cross-site form post, so
 * authentication alone does not say the operator meant it. Browsers send `Origin` on every
 * cross-origin POST/PUT/DELETE and `Sec-Fetch-Site` on every request; non-browser clients (curl,
 * scripts) send neither and are let through to authentication.
 */
export function assertSameOriginWrite(request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined; // "null" (sandboxed frames, file:) or garbage: never this server.
    }
    if (originHost === undefined || originHost !== request.headers.host) throw crossSite(`Origin ${origin}`);
    return;
  }
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') throw crossSite(`Sec-Fetch-Site: ${site}`);
}

const crossSite = (what: string) =>
  new LrecError(ERROR_CODES.FORBIDDEN, `state-changing requests from another site are refused (${what})`, { statusCode: 403 });
