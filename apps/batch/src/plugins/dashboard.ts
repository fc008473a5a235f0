import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { assertSameOriginWrite } from '@lambdarec/http';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { registerBasicAuth, type Credentials, type LoginThrottle } from '@lambdarec/http';

export const DASHBOARD_PATH = '/admin/queues';

/** Bull Board at /admin/queues, in its own scope behind basic auth. */
export async function dashboardPlugin(
  scope: FastifyInstance,
  { queues, credentials, loginThrottle }: { queues: Queue[]; credentials: Credentials; loginThrottle: LoginThrottle },
) {
  await registerBasicAuth(scope, credentials, { throttle: loginThrottle });
  // Every mutating Bull Board route (retry, clean, remove, promote, pause, run now, …): same site only, then credentials.
  scope.addHook('onRequest', async (request) => assertSameOriginWrite(request));
  scope.addHook('onRequest', scope.basicAuth);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'lambdarec batch' } },
  });
  await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
}
