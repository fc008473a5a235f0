import { randomUUID } from 'node:crypto';
import { batchRunSchema, batchRunsAnswerSchema, ERROR_CODES, LrecError, runCreatedSchema, runIdParamsSchema } from '@lambdarec/contracts';
import { assertSameOriginWrite, type HttpServer } from '@lambdarec/http';
import type { BatchRunsRepository } from '@lambdarec/stores';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { registerBasicAuth, type Credentials, type LoginThrottle } from '@lambdarec/http';
import { enqueueRun, type BatchQueue } from '../jobs.js';

export interface RunsRouteOptions {
  runs: BatchRunsRepository;
  queue: BatchQueue;
  credentials: Credentials;
  loginThrottle: LoginThrottle;
}

const conflictSchema = z.object({ runId: z.string(), code: z.string(), message: z.string() });

export async function runsRoutes(app: HttpServer, { runs, queue, credentials, loginThrottle }: RunsRouteOptions) {
  // Runs are operator business: their stats are the shop's daily report, and starting one costs a
  // night's compute. Same credentials as the dashboard, for reading too.
  await app.register(async (scope: FastifyInstance) => {
    await registerBasicAuth(scope, credentials, { throttle: loginThrottle });
    scope.addHook('onRequest', async (request) => assertSameOriginWrite(request));
    const typed = scope as unknown as HttpServer;

    typed.get(
      '/batch/runs',
      {
        onRequest: scope.basicAuth,
        schema: {
          summary: 'List batch runs, newest first',
          tags: ['batch'],
          security: [{ basicAuth: [] }],
          querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
          response: { 200: batchRunsAnswerSchema },
        },
      },
      async (request) => ({ runs: await runs.list(request.query.limit) }),
    );

    typed.get(
      '/batch/runs/:runId',
      {
        onRequest: scope.basicAuth,
        schema: {
          summary: 'One batch run',
          tags: ['batch'],
          security: [{ basicAuth: [] }],
          params: runIdParamsSchema,
          response: { 200: batchRunSchema },
        },
      },
      async (request) => {
        const run = await runs.get(request.params.runId);
        if (run === undefined) throw new LrecError(ERROR_CODES.NOT_FOUND, `no batch run ${request.params.runId}`, { statusCode: 404 });
        return run;
      },
    );

    typed.post(
      '/batch/runs',
      {
        onRequest: scope.basicAuth,
        schema: {
          summary: 'Start a batch run now',
          description: '202 with the new runId; 409 with the active runId when a run is queued or running.',
          tags: ['batch'],
          security: [{ basicAuth: [] }],
          response: { 202: runCreatedSchema, 409: conflictSchema },
        },
      },
      async (request, reply) => {
        const runId = randomUUID();
        const created = await runs.create({ runId, trigger: 'api', jobId: runId });
        if (!created.created) {
          return reply.status(409).send({
            runId: created.activeRunId,
            code: ERROR_CODES.RUN_IN_PROGRESS,
            message: `batch run ${created.activeRunId} is already queued or running`,
          });
        }
        try {
          await enqueueRun(queue, runId, 'api');
        } catch (err) {
          // If Postgres is down too, reconciliation at the next start marks the run failed.
          await runs
            .markFailed(runId, 'could not be queued')
            .catch((markErr: unknown) => request.log.error({ err: markErr, runId }, 'could not mark the run failed'));
          throw new LrecError(ERROR_CODES.STORE_UNAVAILABLE, 'the job queue is unavailable; retry later', {
            statusCode: 503,
            retriable: true,
            retryAfterSeconds: 5,
            cause: err,
          });
        }
        return reply.status(202).send({ runId });
      },
    );

    typed.post(
      '/batch/runs/:runId/publish',
      {
        onRequest: scope.basicAuth,
        schema: {
          summary: 'Publish a kept run again (rollback)',
          description:
            'Makes a succeeded run whose view is still kept (the last BATCH_KEEP_RUNS) the published one, atomically: ' +
            'serving switches to it at its next refresh. 404 for an unknown run; 409 for a run that did not succeed or whose rows were pruned.',
          tags: ['batch'],
          security: [{ basicAuth: [] }],
          params: runIdParamsSchema,
          response: { 200: batchRunSchema },
        },
      },
      async (request) => {
        const { runId } = request.params;
        const result = await runs.publishKept(runId);
        if (!result.published) {
          if (result.reason === 'not-found') throw new LrecError(ERROR_CODES.NOT_FOUND, `no batch run ${runId}`, { statusCode: 404 });
          const why =
            result.reason === 'pruned'
              ? 'its rows were pruned (only the last kept runs can be published again)'
              : `it is ${result.status}, not succeeded`;
          throw new LrecError(ERROR_CODES.RUN_NOT_PUBLISHABLE, `batch run ${runId} cannot be published: ${why}`, { statusCode: 409 });
        }
        request.log.warn({ runId }, 'kept batch run published again (rollback)');
        return (await runs.get(runId))!;
      },
    );
  });
}
