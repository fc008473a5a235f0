import type { Logger } from '@lambdarec/clients';
import { createServiceApp, type HttpServer, type ReadinessCheck, type Registry } from '@lambdarec/http';

/** The speed layer's HTTP surface: health, readiness and metrics only. */
export async function buildSpeedApp({ log, registry, checks }: { log: Logger; registry: Registry; checks: Record<string, ReadinessCheck> }): Promise<HttpServer> {
  return createServiceApp({ log, registry, checks });
}
