import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig } from '@lambdarec/config';
import type { z } from 'zod';
import { createCloser, createLogger, type Logger } from '@lambdarec/clients';

/** Registers a close step; steps run in reverse order of registration (intake, created last, stops first). */
export type Defer = (name: string, step: () => Promise<unknown> | unknown) => void;

export interface ServiceOptions<S extends z.ZodType<{ LOG_LEVEL: string }>> {
  name: string;
  schema: S;
  env: Record<string, string | undefined>;
  /** Creates clients and starts intake, registering how to close each with `defer` right after creating it. */
  start: (config: z.output<S>, log: Logger, defer: Defer) => Promise<void>;
  /** How long closing may take before the process exits anyway. @defaultValue 15000 */
  graceMs?: number;
}

/**
 * The process lifecycle of every service: validated config (exit 1 naming each bad variable),
 * one logger, start, and one close-with-grace for SIGINT/SIGTERM and uncaught errors (logged,
 * closed, non-zero exit). A failed start closes what it had created and exits 1.
 */
export async function runService<S extends z.ZodType<{ LOG_LEVEL: string }>>({
  name,
  schema,
  env,
  start,
  graceMs = 15_000,
}: ServiceOptions<S>): Promise<void> {
  let config: z.output<S>;
  try {
    config = loadConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
  const log = createLogger({ name, level: config.LOG_LEVEL as 'info' });
  const steps: Array<[string, () => Promise<unknown> | unknown]> = [];
  const close = createCloser(log, steps);
  const { uninstall } = closeWithGrace(
    {
      delay: graceMs,
      logger: { error: (msg: unknown) => log.error({ msg }, 'close-with-grace') },
      // An error while closing (an unhandled rejection, say) exits 1 at once: say what it was.
      onSecondError: (err: unknown) => log.fatal({ err, step: close.running() }, 'error while shutting down, exiting'),
      onTimeout: (delay: number) => log.fatal({ step: close.running(), graceMs: delay }, 'shutdown ran out of time, exiting'),
    },
    async ({ signal, err }) => {
      if (err !== undefined) log.fatal({ err }, 'uncaught error, shutting down');
      else log.info({ signal }, 'shutting down');
      await close();
      log.info('stopped');
    },
  );
  try {
    await start(config, log, (stepName, step) => steps.unshift([stepName, step]));
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    uninstall();
    await close().catch(() => undefined);
    process.exit(1);
  }
  log.info('started');
}
