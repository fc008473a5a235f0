/**
 * Whether a handler's error is the store refusing the records themselves (so retrying the same
 * record can never succeed) rather than the store being unreachable or busy (so it will, later).
 * Only refusals lead to the DLQ: an unknown error is retried, because dead-lettering events while
 * Postgres restarts would lose data that a retry would have kept.
 */
export function isRecordRejection(err: unknown): boolean {
  for (
    let current = err as { code?: unknown; recordRejected?: unknown; cause?: unknown } | undefined, depth = 0;
    current && depth < 5;
    depth++
  ) {
    if (current.recordRejected === true) return true;
    const { code } = current;
    // SQLSTATE classes: 22 data exception (a NUL in text, a number out of range), 23 integrity
    // constraint violation, 54 program limit exceeded (a value too large to index).
    if (typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code)) return true;
    current = current.cause as typeof current;
  }
  return false;
}

/** Marks an error as a refusal of the record, for handlers that validate beyond the schema. */
export class RecordRejectedError extends Error {
  readonly recordRejected = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecordRejectedError';
  }
}
