/** Stable error codes: callers match on `code`, never on the message. */
export const ERROR_CODES = {
  INVALID_EVENT: 'LREC_INVALID_EVENT',
  INVALID_PRODUCT: 'LREC_INVALID_PRODUCT',
  INVALID_REQUEST: 'LREC_INVALID_REQUEST',
  PAYLOAD_TOO_LARGE: 'LREC_PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'LREC_RATE_LIMITED',
  BROKER_UNAVAILABLE: 'LREC_BROKER_UNAVAILABLE',
  STORE_UNAVAILABLE: 'LREC_STORE_UNAVAILABLE',
  RUN_IN_PROGRESS: 'LREC_RUN_IN_PROGRESS',
  RUN_NOT_PUBLISHABLE: 'LREC_RUN_NOT_PUBLISHABLE',
  NOT_FOUND: 'LREC_NOT_FOUND',
  UNAUTHORIZED: 'LREC_UNAUTHORIZED',
  FORBIDDEN: 'LREC_FORBIDDEN',
  INVALID_CONFIG: 'LREC_INVALID_CONFIG',
  /** Another experiment is running: stop it before starting this one. */
  EXPERIMENT_ALREADY_RUNNING: 'LREC_EXPERIMENT_ALREADY_RUNNING',
  /** A started experiment's mode or variants cannot change: its figures would mix two designs. */
  EXPERIMENT_FROZEN: 'LREC_EXPERIMENT_FROZEN',
  /** Every experiment tag is taken: each names its own range of recommendationIds, so none is reused. */
  EXPERIMENT_TAGS_USED_UP: 'LREC_EXPERIMENT_TAGS_USED_UP',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface LrecErrorOptions {
  statusCode?: number;
  retriable?: boolean;
  cause?: unknown;
  /** Structured detail that is safe to show a client (only sent for 4xx). */
  details?: unknown;
  /** Seconds a client should wait before retrying (503, 429). */
  retryAfterSeconds?: number;
}

export class LrecError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retriable: boolean;
  readonly details: unknown;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: LrecErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LrecError';
    this.code = code;
    this.statusCode = options.statusCode ?? 500;
    this.retriable = options.retriable ?? false;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export const isLrecError = (err: unknown): err is LrecError => err instanceof LrecError;
