import {
  ERROR_CODES,
  experimentDefinitionSchema,
  experimentIdParamsSchema,
  experimentListSchema,
  experimentReportSchema,
  experimentSchema,
  LrecError,
} from '@lambdarec/contracts';
import { assertSameOriginWrite, registerBasicAuth, type Credentials, type HttpServer, type LoginThrottle } from '@lambdarec/http';
import type { ExperimentRepository } from '@lambdarec/stores';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { EXPERIMENTS_PAGE_PATH, renderExperimentsPage } from '../experiments-page.js';
import type { ExperimentReports } from '../experiment-report.js';

export interface ExperimentsRouteOptions {
  experiments: ExperimentRepository;
  reports: ExperimentReports;
  credentials: Credentials;
  loginThrottle: LoginThrottle;
}

const errorSchema = z.object({ code: z.string(), message: z.string() });

/** The experiments API and the operator's page: behind the dashboard credentials, writes same-origin only. */
export async function experimentsRoutes(app: HttpServer, { experiments, reports, credentials, loginThrottle }: ExperimentsRouteOptions) {
  await app.register(async (scope: FastifyInstance) => {
    await registerBasicAuth(scope, credentials, { throttle: loginThrottle });
    // A cross-site form or fetch must not start or stop an experiment with the operator's cached credentials.
    scope.addHook('onRequest', async (request) => assertSameOriginWrite(request));
    scope.addHook('onRequest', scope.basicAuth);
    const typed = scope as unknown as HttpServer;

    typed.put(
      '/experiments/:experimentId',
      {
        schema: {
          summary: 'Create or update an experiment; start or stop it with its status',
          description:
            'At most one experiment runs: starting a second answers 409. Once an experiment has started, its mode and variants ' +
            'are frozen (409: create a new experiment); the same definition with another status stops or starts it.',
          tags: ['experiments'],
          security: [{ basicAuth: [] }],
          params: experimentIdParamsSchema,
          body: experimentDefinitionSchema,
          response: { 200: experimentSchema, 409: errorSchema },
        },
      },
      async (request) => {
        const experiment = await experiments.put(request.params.experimentId, request.body);
        request.log.warn(
          { experimentId: experiment.experimentId, status: experiment.status, mode: experiment.mode },
          'experiment written by an operator',
        );
        return experiment;
      },
    );

    typed.get(
      '/experiments',
      {
        schema: {
          summary: 'List experiments, newest first',
          tags: ['experiments'],
          security: [{ basicAuth: [] }],
          response: { 200: experimentListSchema },
        },
      },
      async () => ({ experiments: await experiments.list() }),
    );

    typed.get(
      '/experiments/:experimentId/report',
      {
        schema: {
          summary: "An experiment's figures per variant, the comparison and, interleaved, the preference",
          description:
            'Counts include events archived up to a minute ago (nothing is cached). The comparison is variants[0] (baseline) ' +
            'against variants[1] (challenger). Users flagged by the bot guard while it ran are left out of every figure.',
          tags: ['experiments'],
          security: [{ basicAuth: [] }],
          params: experimentIdParamsSchema,
          response: { 200: experimentReportSchema },
        },
      },
      async (request) => {
        const report = await reports.report(request.params.experimentId);
        if (report === undefined) throw notFound(request.params.experimentId);
        return report;
      },
    );

    typed.get(
      EXPERIMENTS_PAGE_PATH,
      { schema: { hide: true, querystring: z.object({ experimentId: z.string().optional() }) } },
      async (request, reply) => {
        const list = await experiments.list();
        const asked = request.query.experimentId;
        const shown =
          list.find((experiment) => experiment.experimentId === asked) ??
          list.find((experiment) => experiment.status === 'running') ??
          list[0];
        const report = shown === undefined ? undefined : await reports.report(shown.experimentId);
        return reply
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(renderExperimentsPage({ experiments: list, shown, report }));
      },
    );
  });
}

const notFound = (experimentId: string) => new LrecError(ERROR_CODES.NOT_FOUND, `no experiment ${experimentId}`, { statusCode: 404 });
