import { collectDefaultMetrics, Registry } from 'prom-client';

// One import for every service's metrics, HTTP or not: the workers count events and flags with
// these, the http lib times requests with them.
export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A registry with Node's default process metrics, labelled with the service name. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
