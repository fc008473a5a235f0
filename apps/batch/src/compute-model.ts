import { Worker } from 'node:worker_threads';
import type { BatchModel, BatchPolicy, Interaction } from '@lambdarec/domain';

export type ComputeModel = (interactions: Interaction[], asOf: number, policy: BatchPolicy) => Promise<BatchModel>;

/**
 * In a worker thread. On the full UCI Online Retail history (270k interactions, 2M item pairs)
 * the model takes ~5 s of CPU: on the main thread that would stall the archiver's heartbeats, the
 * BullMQ lock renewal and /healthz for as long.
 */
export const computeModelInThread: ComputeModel = (interactions, asOf, policy) =>
  new Promise((resolve, reject) => {
    // In the bundle the worker is model.worker.js beside main.js. From source (tsx, tests) a worker
    // thread does not inherit tsx's loader, so a small bootstrap loads model.worker.ts through tsx.
    const fromSource = import.meta.url.endsWith('.ts');
    const workerData = { interactions, asOf, policy };
    const worker = fromSource
      ? new Worker(
          `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(new URL('./model.worker.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))`,
          { eval: true, workerData },
        )
      : new Worker(new URL('./model.worker.js', import.meta.url), { workerData });
    let settled = false;
    worker.once('message', (model: BatchModel) => {
      settled = true;
      resolve(model);
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the model worker exited with code ${code} before answering`));
    });
  });
