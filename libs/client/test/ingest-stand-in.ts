import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived, from performance.now(). */
  at: number;
}

/** One scripted answer; `drop` closes the connection without answering (a network error for the client). */
export interface ScriptedAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  drop?: boolean;
}

export interface StandIn {
  url: string;
  requests: RecordedRequest[];
  /** Answers for the next requests, in order; then 202 with the events' ids, or `fallback` for GETs. */
  script: ScriptedAnswer[];
  /** The answer to a GET when nothing is scripted. */
  answerGet: (path: string) => ScriptedAnswer;
  /** Every event posted, in arrival order, per request. */
  postedBatches(): { eventId: string; [field: string]: unknown }[][];
  close(): Promise<void>;
}

/** A real HTTP server on loopback that plays ingest and serving: records requests, answers as scripted. */
export async function startStandIn(): Promise<StandIn> {
  const standIn: StandIn = {
    url: '',
    close: () => Promise.resolve(),
    requests: [],
    script: [],
    answerGet: () => ({ status: 404, body: { code: 'LREC_NOT_FOUND', message: 'not here' } }),
    postedBatches() {
      return this.requests
        .filter((request) => request.method === 'POST')
        .map((request) => (JSON.parse(request.body) as { events: { eventId: string }[] }).events);
    },
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = request.url ?? '/';
      standIn.requests.push({ method: request.method ?? 'GET', path, headers: request.headers, body, at: performance.now() });
      const answer: ScriptedAnswer =
        standIn.script.shift() ??
        (request.method === 'POST'
          ? (() => {
              const events = (JSON.parse(body) as { events: { eventId: string }[] }).events;
              return { status: 202, body: { accepted: events.length, eventIds: events.map((event) => event.eventId) } };
            })()
          : standIn.answerGet(path));
      if (answer.drop === true) {
        request.socket.destroy();
        return;
      }
      response.writeHead(answer.status ?? 202, { 'content-type': 'application/json', ...answer.headers });
      response.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  standIn.url = `http://127.0.0.1:${port}`;
  standIn.close = () =>
    new Promise((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    });
  return standIn;
}
