import { ERROR_CODES, LrecError } from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';

export interface CatalogGate {
  /** Resolves once the catalog's tables exist; else throws a 503 the client may retry. */
  ready(): Promise<void>;
}

/**
 * Ingest's events need only Kafka; the catalog needs Postgres and its tables. So ingest does not
 * wait for Postgres to start: it migrates on the first catalog request (and once at start-up, in
 * the background), and until that succeeds PUT /products answers 503 while POST /events works.
 * A failed attempt is forgotten, so the next request tries again.
 */
export function createCatalogGate({
  migrate,
  log,
  timeoutMs = 10_000,
}: {
  migrate: () => Promise<unknown>;
  log: Logger;
  /** An attempt that has not finished by then counts as failed (a host that never answers). @defaultValue 10000 */
  timeoutMs?: number;
}): CatalogGate {
  let migrated: Promise<void> | undefined;
  const attempt = () =>
    new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`migrations did not finish within ${timeoutMs} ms`)), timeoutMs);
      migrate()
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
  return {
    async ready() {
      migrated ??= attempt().then(
        () => undefined,
        (err: unknown) => {
          migrated = undefined;
          log.warn({ err }, 'catalog not ready: migrations could not run (is Postgres up?)');
          throw new LrecError(ERROR_CODES.STORE_UNAVAILABLE, 'the catalog store is unavailable; retry later', {
            statusCode: 503,
            retriable: true,
            retryAfterSeconds: 5,
            cause: err,
          });
        },
      );
      await migrated;
    },
  };
}
