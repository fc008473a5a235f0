import type { ErrorIssue } from './types.js';

/** Codes of the client's own failures; an answer from a service keeps the service's code (`LREC_INVALID_EVENT`, …). */
export const CLIENT_ERROR_CODES = {
  /** No answer: the connection failed or the request timed out. */
  NETWORK: 'LREC_CLIENT_NETWORK',
  /** An answer that is not the documented JSON. */
  BAD_ANSWER: 'LREC_CLIENT_BAD_ANSWER',
  /** The caller's signal stopped the request or its wait for a retry. */
  ABORTED: 'LREC_CLIENT_ABORTED',
  /** More events waiting than `maxQueuedEvents`: the oldest were dropped. */
  QUEUE_FULL: 'LREC_CLIENT_QUEUE_FULL',
  /** `recommend` without `servingUrl`, or `track` without `ingestUrl`. */
  NOT_CONFIGURED: 'LREC_CLIENT_NOT_CONFIGURED',
  /** An event that ingest would refuse, caught before it was queued (the server's own code). */
  INVALID_EVENT: 'LREC_INVALID_EVENT',
  /** `track` after `close()`. */
  CLOSED: 'LREC_CLIENT_CLOSED',
  /** An HTTP status whose body named no code. */
  HTTP: 'LREC_CLIENT_HTTP',
} as const;

export interface LambdarecErrorOptions {
  /** The HTTP status, when the service answered. */
  status?: number | undefined;
  issues?: ErrorIssue[] | undefined;
  /** Whether sending the same request again may succeed (429, 5xx, no answer). */
  retriable?: boolean;
  cause?: unknown;
}

/**
 * A request the client could not complete: the service's `code`, `message` and `issues` on a 4xx,
 * or one of CLIENT_ERROR_CODES. Match on `code`, never on the message.
 */
export class LambdarecError extends Error {
  override readonly name = 'LambdarecError';
  readonly code: string;
  readonly status: number | undefined;
  readonly issues: ErrorIssue[];
  readonly retriable: boolean;

  constructor(code: string, message: string, { status, issues = [], retriable = false, cause }: LambdarecErrorOptions = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.status = status;
    this.issues = issues;
    this.retriable = retriable;
  }
}

/** Whether a status may pass by sending the same request again: rate limits and server trouble. */
export const isRetriableStatus = (status: number): boolean => status === 429 || status >= 500;

/** The error for an answer that was not a success, from its body (`{code, message, issues}`) when it has one. */
export async function errorFromResponse(response: Response, what: string): Promise<LambdarecError> {
  let body: { code?: unknown; message?: unknown; issues?: unknown } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not JSON (a proxy's page): the status says enough
  }
  const code = typeof body.code === 'string' ? body.code : CLIENT_ERROR_CODES.HTTP;
  const message = typeof body.message === 'string' && body.message !== '' ? body.message : `${what} answered ${response.status}`;
  return new LambdarecError(code, message, {
    status: response.status,
    issues: Array.isArray(body.issues) ? (body.issues as ErrorIssue[]) : [],
    retriable: isRetriableStatus(response.status),
  });
}
