/** Runs in a worker thread: computes the batch model off the service's event loop. */
import { parentPort, workerData } from 'node:worker_threads';
import { computeBatchModel, type BatchPolicy, type Interaction } from '@lambdarec/domain';

const { interactions, asOf, policy } = workerData as { interactions: Interaction[]; asOf: number; policy: BatchPolicy };
parentPort!.postMessage(computeBatchModel(interactions, asOf, policy));
