import type { Logger } from './logger.js';

/**
 * Builds an idempotent close(): every step runs once, in order, even when an earlier one fails;
 * failures are logged and the first is rethrown after all steps ran.
 */
export function createCloser(log: Logger, steps: ReadonlyArray<[name: string, step: () => Promise<unknown> | unknown]>) {
  let closing: Promise<void> | undefined;
  let running: string | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      let firstError: unknown;
      for (const [name, step] of steps) {
        running = name;
        try {
          await step();
        } catch (err) {
          log.error({ err, step: name }, 'close step failed');
          firstError ??= err;
        }
      }
      running = undefined;
      if (firstError !== undefined) throw firstError;
    })();
    return closing;
  };
  /** The step being awaited, if any: what a shutdown that ran out of time was stuck on. */
  return Object.assign(close, { running: (): string | undefined => running });
}
