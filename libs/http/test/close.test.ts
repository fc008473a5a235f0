import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type OpenConnection } from '../src/index.js';

interface LogLine {
  level: number;
  msg: string;
  waitedMs?: number;
  connections?: OpenConnection[];
}

function capturedLogger() {
  const lines: LogLine[] = [];
  return { log: pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) }), lines };
}

const clients: Socket[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

async function openClient(port: number): Promise<Socket> {
  const client = connect(port, '127.0.0.1');
  clients.push(client);
  await once(client, 'connect');
  return client;
}

async function listening({
  drainReportAfterMs = 60_000,
  drainTimeoutMs = 60_000,
}: { drainReportAfterMs?: number; drainTimeoutMs?: number } = {}) {
  const { log, lines } = capturedLogger();
  const app = createHttpServer({ log, drainReportAfterMs, drainTimeoutMs });
  app.post('/events', async (req) => ({ got: req.body }));
  app.get('/ping', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { app, port, lines };
}

describe('closing the http server', () => {
  it('ends a keep-alive connection that was answering when close began, right after its answer', async () => {
    const { app, port } = await listening();
    const client = await openClient(port);
    let received = '';
    client.on('data', (chunk: Buffer) => (received += chunk.toString()));
    // The body is incomplete when close() starts, so the connection is busy, not idle.
    client.write(
      'POST /events HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n{"a":',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = app.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    client.write('"b"}');
    await once(client, 'close');
    await closed;
    // Answered in full, then closed by the server, long before the 72 s keep-alive timeout.
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    expect(received).toContain('{"got":{"a":"b"}}');
  });

  it('names each connection it still waits for, with the request being answered, while it waits', async () => {
    const { app, port, lines } = await listening({ drainReportAfterMs: 200 });
    const stalled = await openClient(port);
    stalled.write('POST /events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"a":');
    const idle = await openClient(port);
    idle.write('GET /ping HTTP/1.1\r\nhost: x\r\n\r\n');
    await once(idle, 'data');
    await new Promise((resolve) => setTimeout(resolve, 100));
    let done = false;
    const closed = app.close().then(() => (done = true));
    await expect
      .poll(() => lines.find((line) => line.msg === 'http server is still waiting for connections to close'), { timeout: 3_000 })
      .toBeDefined();
    const report = lines.find((line) => line.msg === 'http server is still waiting for connections to close')!;
    // Only the stalled upload holds the close; the idle keep-alive connection was closed at once.
    expect(report.connections).toEqual([
      { client: `127.0.0.1:${stalled.localPort}`, bytesRead: expect.any(Number), bytesWritten: 0, request: 'POST /events' },
    ]);
    expect(report.waitedMs).toBeGreaterThanOrEqual(200);
    expect(done).toBe(false);
    stalled.destroy();
    await closed;
  });
});

describe('closing the http server, with clients that send nothing or stall', () => {
  it('does not wait for a connection that has not sent a byte (browsers and pooled clients open sockets ahead of need)', async () => {
    const { app, port } = await listening();
    const preconnected = await openClient(port);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closedAt = Date.now();
    await app.close();
    expect(Date.now() - closedAt).toBeLessThan(2_000);
    if (!preconnected.closed) await once(preconnected, 'close');
  });

  it('cuts an answer still running after the drain timeout (a stalled upload), and says which', async () => {
    const { app, port, lines } = await listening({ drainTimeoutMs: 500 });
    const stalled = await openClient(port);
    stalled.write('POST /events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"a":');
    const clientPort = stalled.localPort;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closedAt = Date.now();
    await app.close();
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(500);
    if (!stalled.closed) await once(stalled, 'close');
    const cut = lines.find((line) => line.msg === 'http server did not drain in time; closing the connections left');
    expect(cut?.connections).toEqual([expect.objectContaining({ client: `127.0.0.1:${clientPort}`, request: 'POST /events' })]);
  });
});
