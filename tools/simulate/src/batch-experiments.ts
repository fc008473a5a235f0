/**
 * The experiments API of the batch service (docs/design.md, "Closing the loop"), as the simulator
 * uses it: create or stop an experiment, find one, read its report. Behind the dashboard's basic
 * auth and its Origin guard.
 */
import { STATUS_CODES } from 'node:http';
import {
  experimentListSchema,
  experimentReportSchema,
  type Experiment,
  type ExperimentDefinition,
  type ExperimentReport,
} from '@lambdarec/contracts';

/** A request to batch that did not succeed: `status` is 0 when batch did not answer. */
export class BatchRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BatchRequestError';
  }
}

export type ReportReading = { report: ExperimentReport } | { problem: string; status: number };

export interface BatchExperiments {
  /** `PUT /experiments/:id`: creates, starts or stops it; answers it as stored. */
  put(experimentId: string, definition: ExperimentDefinition): Promise<Experiment>;
  /** The experiment from `GET /experiments`, or undefined when batch does not know it. */
  find(experimentId: string): Promise<Experiment | undefined>;
  /** `GET /experiments/:id/report`, or why there is none (a batch without the route answers 404). */
  report(experimentId: string): Promise<ReportReading>;
}

const REQUEST_TIMEOUT_MS = 10_000;

export function createBatchExperiments({ batchUrl, authorization }: { batchUrl: string; authorization: string }): BatchExperiments {
  const base = batchUrl.replace(/\/+$/, '');
  // The Origin guard refuses writes that name another site; a script may name none or batch's own.
  // Naming it says plainly that this request means to change the experiment.
  const headers = { authorization, origin: new URL(base).origin, accept: 'application/json' };

  async function request(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new BatchRequestError(0, `${method} ${path}: no answer from ${base} (${(err as Error).message})`);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text.slice(0, 500);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not JSON: the text as it came
      }
      const hint = response.status === 401 ? ' (check DASHBOARD_USER / DASHBOARD_PASSWORD)' : '';
      throw new BatchRequestError(
        response.status,
        `${method} ${path} answered ${response.status} ${STATUS_CODES[response.status] ?? ''}: ${message}${hint}`,
      );
    }
    return JSON.parse(text) as unknown;
  }

  const experimentPath = (experimentId: string) => `/experiments/${encodeURIComponent(experimentId)}`;

  return {
    async put(experimentId, definition) {
      return (await request('PUT', experimentPath(experimentId), definition)) as Experiment;
    },

    async find(experimentId) {
      const { experiments } = experimentListSchema.parse(await request('GET', '/experiments'));
      return experiments.find((experiment) => experiment.experimentId === experimentId);
    },

    async report(experimentId) {
      try {
        const parsed = experimentReportSchema.safeParse(await request('GET', `${experimentPath(experimentId)}/report`));
        return parsed.success
          ? { report: parsed.data }
          : { problem: `the report is not in the contract's shape: ${parsed.error.message}`, status: 200 };
      } catch (err) {
        if (!(err instanceof BatchRequestError)) throw err;
        return { problem: err.status === 0 ? 'batch did not answer' : `batch answered ${err.status}`, status: err.status };
      }
    },
  };
}
