/**
 * `npm run soak -- [--minutes 10] [--probe-seconds 10] [--connections 10]`: the system under a
 * steady load for a while, to find leaks and slow failures that short tests miss. It measures the
 * maximum rate of `GET /recommendations` and `POST /events` for a few seconds each, then holds
 * half of both at once for the given time, and reports errors and the RSS growth of each service
 * between the end of the first minute (warm) and the end. Goal: 0 errors, under 10 % growth.
 * A script for people, not a CI test; the services run isolated (tools/isolated-services.ts).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { localInfrastructure, startIsolatedServices, type ServiceName } from './isolated-services.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'probe-seconds': { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
  },
});
const minutes = Number(values.minutes);
const probeSeconds = Number(values['probe-seconds']);
const connections = Number(values.connections);
if (!(minutes > 0) || !(probeSeconds > 0) || !Number.isInteger(connections) || connections < 1) {
  process.stderr.write('soak: --minutes and --probe-seconds take positive numbers, --connections a positive integer\n');
  process.exit(2);
}

const USERS = 200;
const rssMiB = (pid: number): number => {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
};
const eventsBody = () =>
  JSON.stringify(
    Array.from({ length: 10 }, (_, i) => ({
      eventId: randomUUID(),
      userId: `soak-${Math.floor(Math.random() * USERS)}`,
      type: i % 7 === 0 ? 'add_to_cart' : 'view',
      productId: `p-${Math.floor(Math.random() * 300)}`,
      category: `c-${i % 12}`,
    })),
  );

/** One autocannon run: GET a user's recommendations, or POST ten events, at a rate or flat out. */
function load(kind: 'read' | 'write', base: string, seconds: number, rate?: number) {
  return autocannon({
    url: base,
    connections,
    duration: seconds,
    ...(rate === undefined ? {} : { overallRate: Math.max(1, Math.round(rate)) }),
    requests: [
      kind === 'read'
        ? { method: 'GET', setupRequest: (req) => ({ ...req, path: `/recommendations/soak-${Math.floor(Math.random() * USERS)}` }) }
        : { method: 'POST', path: '/events', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: eventsBody() }) },
    ],
  });
}
const failures = (r: autocannon.Result) => r.errors + r.timeouts + r.non2xx;

say('▶ infrastructure');
const services = await startIsolatedServices(localInfrastructure(), { RATE_LIMIT_PER_MINUTE: '100000000' });
try {
  say('▶ a first batch run over some events, so serving answers from a published run');
  const seed = await load('write', services.url.ingest, 3);
  const auth = `Basic ${Buffer.from(`${services.secrets.dashboardUser}:${services.secrets.dashboardPassword}`).toString('base64')}`;
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // the archiver catches up
  const started = await fetch(`${services.url.batch}/batch/runs`, { method: 'POST', headers: { authorization: auth } });
  say(`  ${seed.requests.total * 10} events posted; batch run ${started.status === 202 ? 'started' : `answered ${started.status}`}`);

  say(`▶ maximum rates (${probeSeconds} s each)`);
  const maxRead = (await load('read', services.url.serving, probeSeconds)).requests.average;
  const maxWrite = (await load('write', services.url.ingest, probeSeconds)).requests.average;
  say(`  GET /recommendations ${maxRead.toFixed(0)} req/s, POST /events ${maxWrite.toFixed(0)} req/s (10 events each)`);

  const seconds = Math.round(minutes * 60);
  say(`▶ soak: half of both for ${seconds} s`);
  const names: ServiceName[] = ['ingest', 'speed', 'batch', 'serving'];
  const warmAt = Math.min(60, Math.round(seconds / 4)) * 1000;
  let warm: Record<string, number> = {};
  const sampler = setTimeout(() => (warm = Object.fromEntries(names.map((n) => [n, rssMiB(services.pid[n])]))), warmAt);
  const [reads, writes] = await Promise.all([load('read', services.url.serving, seconds, maxRead / 2), load('write', services.url.ingest, seconds, maxWrite / 2)]);
  clearTimeout(sampler);
  const end = Object.fromEntries(names.map((n) => [n, rssMiB(services.pid[n])]));

  say('\n| service | RSS warm (MiB) | RSS end (MiB) | growth |');
  say('|---|---:|---:|---:|');
  let worst = 0;
  for (const n of names) {
    const growth = (end[n]! - warm[n]!) / warm[n]!;
    worst = Math.max(worst, growth);
    say(`| ${n} | ${warm[n]!.toFixed(0)} | ${end[n]!.toFixed(0)} | ${(growth * 100).toFixed(1)} % |`);
  }
  say(`\nGET /recommendations: ${reads.requests.total} requests, ${failures(reads)} errors (non-2xx ${reads.non2xx}, timeouts ${reads.timeouts}), p99 ${reads.latency.p99} ms`);
  say(`POST /events: ${writes.requests.total} requests, ${failures(writes)} errors (non-2xx ${writes.non2xx}, timeouts ${writes.timeouts}), p99 ${writes.latency.p99} ms`);
  const ok = failures(reads) + failures(writes) === 0 && worst < 0.1;
  say(`\nsoak: ${ok ? 'passed' : 'FAILED'} (goal: 0 errors and under 10 % RSS growth)`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await services.stop();
}
