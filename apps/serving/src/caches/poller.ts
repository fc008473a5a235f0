import type { Logger } from '@lambdarec/clients';

/** A cache's refresh loop: what the batch view and the experiment caches share. */
export interface Poller {
  /** True while the last refresh failed. */
  readonly failing: boolean;
  /** Refreshes once (a failure is logged with `startFailure`, not thrown), then every `refreshMs`. */
  start(startFailure: string): Promise<void>;
  stop(): void;
}

/**
 * Calls `refresh` every `refreshMs` after the previous call settled (never two at once), and says
 * once that it failed and once that it recovered, however long the failure lasts.
 */
export function createPoller(
  refresh: () => Promise<void>,
  { refreshMs, log, failed, recovered }: { refreshMs: number; log: Logger; failed: string; recovered: string },
): Poller {
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  const tick = () => {
    refresh()
      .then(() => {
        if (failing) log.info(recovered);
        failing = false;
      })
      .catch((err: unknown) => {
        if (!failing) log.warn({ err }, failed);
        failing = true;
      })
      .finally(() => {
        if (timer !== undefined) timer = setTimeout(tick, refreshMs).unref();
      });
  };

  return {
    get failing() {
      return failing;
    },
    async start(startFailure) {
      await refresh().catch((err: unknown) => {
        failing = true;
        log.warn({ err }, startFailure);
      });
      timer = setTimeout(tick, refreshMs).unref();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
