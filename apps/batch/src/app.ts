import type { Logger } from '@lambdarec/clients';
import { createLoginThrottle, createServiceApp, type HttpServer, type LoginThrottle, type ReadinessCheck } from '@lambdarec/http';
import { type Registry } from '@lambdarec/metrics';
import type { BatchRunsRepository, ExperimentRepository } from '@lambdarec/stores';
import type { Queue } from 'bullmq';
import type { Credentials } from '@lambdarec/http';
import { dashboardPlugin } from './plugins/dashboard.js';
import { experimentsRoutes } from './routes/experiments.js';
import { runsRoutes } from './routes/runs.js';
import type { ExperimentReports } from './experiment-report.js';
import type { BatchQueue } from './jobs.js';

export interface BatchAppOptions {
  log: Logger;
  registry: Registry;
  checks: Record<string, ReadinessCheck>;
  runs: BatchRunsRepository;
  queue: BatchQueue;
  experiments: ExperimentRepository;
  experimentReports: ExperimentReports;
  credentials: Credentials;
  /** Failed logins per client address, shared by the dashboard and the runs API. @defaultValue 10 a minute, in this process's memory */
  loginThrottle?: LoginThrottle;
  trustProxy?: boolean | number | string[];
}

/** The batch service's HTTP app: runs API, experiments, Bull Board, health and metrics; built, not listening. */
export async function buildBatchApp({
  log,
  registry,
  checks,
  runs,
  queue,
  experiments,
  experimentReports,
  credentials,
  loginThrottle = createLoginThrottle(),
  trustProxy = false,
}: BatchAppOptions): Promise<HttpServer> {
  const app = await createServiceApp({
    log,
    registry,
    checks,
    trustProxy,
    openApi: {
      title: 'lambdarec batch',
      description:
        'Batch runs of the recommendation model and online experiments; the Bull Board dashboard is at /admin/queues, experiments at /admin/experiments.',
      basicAuth: true,
    },
  });
  // The operator's pages have buttons that run batches and start or stop experiments, answered
  // with the browser's cached credentials: no other site may frame them (clickjacking).
  app.addHook('onSend', async (request, reply) => {
    if (request.url.startsWith('/admin/')) {
      reply.header('x-frame-options', 'DENY');
      reply.header('content-security-policy', "frame-ancestors 'none'");
    }
  });
  await app.register(runsRoutes, { runs, queue, credentials, loginThrottle });
  await app.register(experimentsRoutes, { experiments, reports: experimentReports, credentials, loginThrottle });
  await app.register(dashboardPlugin, { queues: [queue as Queue], credentials, loginThrottle });
  return app;
}
