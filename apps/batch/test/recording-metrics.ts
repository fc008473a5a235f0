import type { ConsumerMetrics } from '@lambdarec/clients';

/** Consumer metrics that remember what the shared consumer reported, for tests to look at. */
export function recordingMetrics() {
  const lags: number[] = [];
  const deadLettered: string[] = [];
  let crashes = 0;
  const metrics: ConsumerMetrics = {
    count: () => undefined,
    deadLettered: (reason) => void deadLettered.push(reason),
    lag: (_partition, records) => void lags.push(records),
    crashed: () => void crashes++,
  };
  return { metrics, lags, deadLettered, crashes: () => crashes };
}
