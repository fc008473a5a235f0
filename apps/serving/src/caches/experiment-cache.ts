import type { Experiment, ExperimentMode } from '@lambdarec/contracts';
import type { Logger } from '@lambdarec/clients';
import type { SessionPolicy } from '@lambdarec/domain';
import { tuneVariant, type TunedVariant } from '../variant-tuning.js';
import { createPoller } from './poller.js';

/** The running experiment, prepared once per definition so that a request only hashes and looks up. */
export interface ActiveExperiment {
  id: string;
  tag: number;
  mode: ExperimentMode;
  variants: readonly TunedVariant[];
  weights: readonly number[];
}

export interface ExperimentSource {
  /** The running experiment, or undefined when none runs. */
  running(): Promise<Experiment | undefined>;
}

export interface ExperimentCache {
  /** What runs now, as last read: no I/O on the request path. */
  current(): ActiveExperiment | undefined;
  refresh(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Like the batch view, the experiment is read every `refreshMs`, not per request: starting or
 * stopping one reaches every serving instance within that time, and a request decides its
 * variant from memory. While Postgres cannot be read, the last definition read stays: an outage
 * must not switch shoppers between variants.
 */
export function createExperimentCache({
  source,
  policy,
  diversity,
  refreshMs,
  log,
}: {
  source: ExperimentSource;
  /** Serving's configured tuning, which each variant's params override. */
  policy: SessionPolicy;
  /** Serving's configured `DIVERSITY`, which a variant's params may override. */
  diversity: number;
  refreshMs: number;
  log: Logger;
}): ExperimentCache {
  let active: ActiveExperiment | undefined;
  let definition = '';

  async function refresh() {
    const experiment = await source.running();
    const seen =
      experiment === undefined ? '' : JSON.stringify([experiment.experimentId, experiment.tag, experiment.mode, experiment.variants]);
    if (seen === definition) return;
    definition = seen;
    active =
      experiment === undefined
        ? undefined
        : {
            id: experiment.experimentId,
            tag: experiment.tag,
            mode: experiment.mode,
            variants: experiment.variants.map((variant) => tuneVariant(variant, policy, diversity)),
            weights: experiment.variants.map((variant) => variant.weight),
          };
    log.info(
      { experimentId: experiment?.experimentId ?? null, mode: experiment?.mode },
      experiment ? 'serving experiment' : 'no experiment running',
    );
  }

  const poller = createPoller(refresh, {
    refreshMs,
    log,
    failed: 'experiment refresh failed; keeping the last definition',
    recovered: 'experiment refresh recovered',
  });

  return {
    current: () => active,
    refresh,
    start: () => poller.start('experiments cannot be read yet: answering without one'),
    async close() {
      poller.stop();
    },
  };
}
