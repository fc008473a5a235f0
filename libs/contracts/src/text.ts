import { z } from 'zod';

/**
 * Text must be storable everywhere downstream (docs/design.md, "The event"). Postgres refuses NUL in
 * text and lone surrogates are not valid UTF-8, so either one in a record would stop the archiver
 * on it; other C0 control characters break logs, CSV exports and terminals. Tab and newline are
 * fine in free text (titles).
 */
// Control characters are exactly what these patterns are for.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_EXCEPT_TAB_AND_NEWLINE = /[\u0000-\u0008\u000b-\u001f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be stored, or undefined when it can. */
export function unstorableTextReason(value: string, { freeText = false }: { freeText?: boolean } = {}): string | undefined {
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode (it contains a lone surrogate)';
  if ((freeText ? CONTROL_EXCEPT_TAB_AND_NEWLINE : CONTROL).test(value)) {
    return freeText ? 'must not contain control characters other than tab and newline' : 'must not contain control characters';
  }
  return undefined;
}

/** A zod string that refuses what downstream cannot store, with a message naming the problem. */
export const storableText = (schema: z.ZodString, options: { freeText?: boolean } = {}) =>
  schema.superRefine((value, ctx) => {
    const reason = unstorableTextReason(value, options);
    if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
  });

/**
 * Amounts (prices, event values) are stored as double precision. Postgres refuses subnormal numbers
 * (below about 2.2e-308) as out of range, and no shop has a price a trillion times a trillion; a
 * clear bound is better than a rejected insert.
 */
export const MAX_AMOUNT = 1e15;
export const MIN_POSITIVE_AMOUNT = 1e-9;

export const amountSchema = z
  .number()
  .nonnegative()
  .finite()
  .max(MAX_AMOUNT, `must be at most ${MAX_AMOUNT}`)
  // Only positive values below the bound: negative ones already have their own issue.
  .refine((value) => !(value > 0 && value < MIN_POSITIVE_AMOUNT), `must be 0 or at least ${MIN_POSITIVE_AMOUNT}`);
