/**
 * `npm run soak -- [--minutes 10] [--probe-seconds 10] [--connections 10]`: the system under a
 * steady load for a while, to find leaks and slow failures that short tests miss. It measures the
 * maximum rate of `GET /recommendations` and `POST /events` for a few seconds each, then holds
 * half of both at once for the given time, and reports errors and the memory of each service,
 * sampled every 10 s: the mean of the second quarter of the run (warm) against the mean of the
 * last quarter, for RSS and for the used heap (a leak grows the heap; RSS also keeps what the
 * allocator has not returned). Goal: 0 errors, under 10 % growth.
 * A script for people, not a CI test; the services run isolated (startIsolatedServices in the testing library).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { localInfrastructure } from '@lambdarec/local-stack';
import { startIsolatedServices, type ServiceName } from '@lambdarec/testing';

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
/** RSS and used heap of a service, in MiB, from its own /metrics (prom-client's process metrics). */
async function memoryOf(base: string): Promise<{ rss: number; heap: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 1024 / 1024;
  return { rss: value('process_resident_memory_bytes'), heap: value('nodejs_heap_size_used_bytes') };
}
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
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
        : {
            method: 'POST',
            path: '/events',
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => ({ ...req, body: eventsBody() }),
          },
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
  const samples: Array<{ at: number; memory: Record<string, { rss: number; heap: number }> }> = [];
  const soakStart = Date.now();
  const sampler = setInterval(() => {
    void Promise.all(names.map(async (n) => [n, await memoryOf(services.url[n])] as const)).then(
      (entries) => samples.push({ at: (Date.now() - soakStart) / 1000, memory: Object.fromEntries(entries) }),
      () => undefined,
    );
  }, 10_000);
  const [reads, writes] = await Promise.all([
    load('read', services.url.serving, seconds, maxRead / 2),
    load('write', services.url.ingest, seconds, maxWrite / 2),
  ]);
  clearInterval(sampler);

  const warm = samples.filter((s) => s.at > seconds / 4 && s.at <= seconds / 2);
  const last = samples.filter((s) => s.at > (seconds * 3) / 4);
  say('\n| service | RSS warm → end (MiB) | growth | heap warm → end (MiB) | growth |');
  say('|---|---:|---:|---:|---:|');
  let worst = 0;
  for (const n of names) {
    const row = (kind: 'rss' | 'heap') => {
      const [a, b] = [mean(warm.map((s) => s.memory[n]![kind])), mean(last.map((s) => s.memory[n]![kind]))];
      return { text: `${a.toFixed(0)} → ${b.toFixed(0)}`, growth: (b - a) / a };
    };
    const [rss, heap] = [row('rss'), row('heap')];
    worst = Math.max(worst, rss.growth);
    say(`| ${n} | ${rss.text} | ${(rss.growth * 100).toFixed(1)} % | ${heap.text} | ${(heap.growth * 100).toFixed(1)} % |`);
  }
  say(
    `\nGET /recommendations: ${reads.requests.total} requests, ${failures(reads)} errors (non-2xx ${reads.non2xx}, timeouts ${reads.timeouts}), p99 ${reads.latency.p99} ms`,
  );
  say(
    `POST /events: ${writes.requests.total} requests, ${failures(writes)} errors (non-2xx ${writes.non2xx}, timeouts ${writes.timeouts}), p99 ${writes.latency.p99} ms`,
  );
  const ok = failures(reads) + failures(writes) === 0 && worst < 0.1;
  say(`\nsoak: ${ok ? 'passed' : 'FAILED'} (goal: 0 errors and under 10 % RSS growth)`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await services.stop();
}
