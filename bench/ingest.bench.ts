/**
 * `npm run bench:ingest`: events per second through POST /events (validation, JSON, HTTP, an
 * idempotent producer with acks from all in-sync replicas) against a raw kafkajs producer with the
 * same settings sending the same events, measured in this run on this machine. The ratio is what
 * matters: it is the cost of the HTTP front door over Kafka itself.
 *
 * The raw producer keeps one send in flight, each carrying what the concurrent senders would have
 * sent at once: kafkajs 2.2.4's idempotent producer rejects concurrent sends with
 * OUT_OF_ORDER_SEQUENCE_NUMBER under load (it failed CI that way), and one coalesced send at a time
 * is also what ingest itself does (event-publisher.ts), so both sides pay for the same guarantees.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { Partitioners } from 'kafkajs';
import { createKafka, createLogger, createPgPool } from '@lambdarec/clients';
import { createMetricsRegistry } from '@lambdarec/metrics';
import { createCatalogRepository } from '@lambdarec/stores';
import { createTestTopic, startInfra } from '@lambdarec/testing';
import { buildIngestApp, createEventPublisher } from '@lambdarec/ingest';
import { writeBenchReport } from './report.js';

const DURATION_S = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONCURRENCY = 10;
const EVENTS_PER_REQUEST = 10;
const log = createLogger({ name: 'bench', level: 'error' });
const say = (line: string) => process.stdout.write(`${line}\n`);

const infra = await startInfra();
const topic = await createTestTopic(infra.kafkaBrokers, { partitions: 6 });
const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'bench', log });
const pool = createPgPool({ url: infra.databaseUrl, log, applicationName: 'bench' });

const batch = () =>
  Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => ({
    eventId: randomUUID(),
    userId: `bench-user-${Math.floor(Math.random() * 1000)}`,
    type: i % 4 === 0 ? 'click' : 'view',
    productId: `p-${Math.floor(Math.random() * 500)}`,
    category: 'bench',
    timestamp: new Date().toISOString(),
  }));

try {
  // Baseline: the raw producer, one send in flight, each send the CONCURRENCY batches of a round.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  let rawEvents = 0;
  const rawDeadline = Date.now() + DURATION_S * 1000;
  while (Date.now() < rawDeadline) {
    const events = Array.from({ length: CONCURRENCY }, batch).flat();
    await producer.send({ topic: topic.topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    rawEvents += events.length;
  }
  await producer.disconnect();
  const rawRate = rawEvents / DURATION_S;

  const publisher = createEventPublisher({ kafka, topic: topic.topic, log });
  await publisher.start();
  const app = await buildIngestApp({
    log,
    publisher,
    catalog: createCatalogRepository({ pool }),
    // The bench posts events only; the catalog route still needs a key of its own.
    catalogApiKey: randomUUID(),
    registry: createMetricsRegistry('bench'),
    checks: {},
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const result = await autocannon({
    url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}/events`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: CONCURRENCY,
    duration: DURATION_S,
    requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify({ events: batch() }) }) }],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`ingest: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const httpRate = result.requests.average * EVENTS_PER_REQUEST;
  await app.close();
  await publisher.close();

  say(
    `ingest benchmark: ${CONCURRENCY} concurrent senders, ${EVENTS_PER_REQUEST} events per request, ${DURATION_S} s each, acks=-1, idempotent`,
  );
  say(`raw kafkajs producer     ${rawRate.toFixed(0).padStart(7)} events/s`);
  say(`POST /events             ${httpRate.toFixed(0).padStart(7)} events/s   p50 ${result.latency.p50} ms   p99 ${result.latency.p99} ms`);
  say(`ratio ingest / raw producer: ${(httpRate / rawRate).toFixed(2)}`);
  writeBenchReport({
    name: 'ingest',
    setup: `${CONCURRENCY} concurrent senders, ${EVENTS_PER_REQUEST} events per request, ${DURATION_S} s each, acks from all in-sync replicas, idempotent producer.`,
    figures: [
      {
        label: 'POST /events',
        value: httpRate,
        unit: 'events/s',
        baseline: { label: 'raw kafkajs producer, same events, one send in flight', value: rawRate, unit: 'events/s' },
        ratio: httpRate / rawRate,
      },
      { label: 'POST /events latency p99', value: result.latency.p99, unit: 'ms' },
    ],
  });
} finally {
  await pool.end();
  await topic.remove();
  await infra.stop();
}
