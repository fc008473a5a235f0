import { randomUUID } from 'node:crypto';
import { statusOf } from './status-of.js';

/** What one phase of the run saw from the clients' side. */
export interface PhaseTraffic {
  /** Event ids that ingest answered 202 for: each must be archived exactly once. */
  accepted: string[];
  /** Users whose events were accepted in the phase. */
  users: Set<string>;
  posts: number;
  /** Answers that were not 202 (a 503, a refused connection, a timeout), retried on the other instance. */
  postFailures: number;
  /** The most 503 answers (or refused connections) ingest gave in a row, across both instances. */
  longest503Run: number;
  /** Requests whose every try failed: their events were never answered 202, so they may be missing. */
  postsGivenUp: number;
  gets: number;
  /** Serving answers that were not 200 (first tries; each was retried on the other instance). */
  getNon200: number;
  /** Reads whose every try failed. */
  getsGivenUp: number;
  /** Requests of this phase still trying (counts above may still grow until it is 0). */
  pending: number;
}

export interface LoadOptions {
  ingestUrls: readonly string[];
  servingUrls: readonly string[];
  /** POSTs a second, spread over the ingest instances. */
  postsPerSecond: number;
  eventsPerPost: number;
  /** GETs a second, spread over the serving instances. */
  getsPerSecond: number;
  /** The run's own users and products, so its counts are its own. */
  runId: string;
  products: readonly { productId: string; category: string }[];
  /** Users a phase spreads its events over (few events each, well under the bot guard's limits). */
  users: number;
  /** How long one request may take before it counts as failed. @defaultValue 5000 */
  requestTimeoutMs?: number;
  /** How long a request is retried, alternating instances, before the load gives up on it. @defaultValue 60000 */
  retryForMs?: number;
}

export interface SteadyLoad {
  /** Closes the current phase's figures and starts a new phase. */
  nextPhase(): PhaseTraffic;
  /** Stops sending and waits for requests under way (with their retries). */
  stop(): Promise<PhaseTraffic>;
  /** Resolves when every request a closed phase began has its answer (or was given up). */
  settled(phase: PhaseTraffic): Promise<void>;
}

const emptyPhase = (): PhaseTraffic => ({
  accepted: [],
  users: new Set(),
  posts: 0,
  postFailures: 0,
  longest503Run: 0,
  postsGivenUp: 0,
  gets: 0,
  getNon200: 0,
  getsGivenUp: 0,
  pending: 0,
});

/**
 * Steady traffic as a shop's clients send it: events to ingest, reads from serving, each request
 * to one instance in turn, and on a failure the same request (same eventIds, so a retry stays
 * de-duplicated) to the other instance, as DESIGN asks of clients. Requests are paced by the clock,
 * not by answers, so an outage shows up as failures rather than as silence.
 */
export function startSteadyLoad(options: LoadOptions): SteadyLoad {
  const { ingestUrls, servingUrls, eventsPerPost, runId, products, users, requestTimeoutMs = 5_000, retryForMs = 60_000 } = options;
  let phase = emptyPhase();
  // Each phase has users of its own: once its requests are answered, their sessions stop
  // changing, so they can be compared with the archive while the next phase's load goes on.
  let phaseIndex = 0;
  let current503Run = 0;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  let postTurn = 0;
  let getTurn = 0;
  let eventsSent = 0;

  const track = (send: () => Promise<void>) => {
    const owner = phase;
    owner.pending++;
    const work = send().finally(() => {
      owner.pending--;
      inFlight.delete(work);
    });
    inFlight.add(work);
  };

  const attempt = (url: string, init: RequestInit) => statusOf(url, init, requestTimeoutMs);

  async function post() {
    const events = Array.from({ length: eventsPerPost }, () => {
      const n = eventsSent++;
      // Users take turns, so each gets a few events a minute: far from the bot guard's limits.
      const userId = `chaos-${runId}-p${phaseIndex}-u${n % users}`;
      const product = products[(n * 7919) % products.length]!;
      const type = n % 11 === 0 ? 'add_to_cart' : 'view';
      return { eventId: randomUUID(), userId, type, productId: product.productId, category: product.category };
    });
    const body = JSON.stringify({ events });
    const owner = phase;
    const deadline = Date.now() + retryForMs;
    let turn = postTurn++;
    owner.posts++;
    for (;;) {
      const status = await attempt(`${ingestUrls[turn % ingestUrls.length]}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      if (status === 202) {
        current503Run = 0;
        // Counted in the phase the request began in, whatever phase it ends in.
        for (const event of events) {
          owner.accepted.push(event.eventId);
          owner.users.add(event.userId);
        }
        return;
      }
      owner.postFailures++;
      if (status === 503 || status === 0) owner.longest503Run = Math.max(owner.longest503Run, ++current503Run);
      if (Date.now() > deadline || status === 400) {
        owner.postsGivenUp++;
        return;
      }
      turn++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function get() {
    const owner = phase;
    const userId = `chaos-${runId}-p${phaseIndex}-u${Math.floor(Math.random() * users)}`;
    let turn = getTurn++;
    owner.gets++;
    const deadline = Date.now() + retryForMs;
    for (let tries = 0; ; tries++) {
      const status = await attempt(`${servingUrls[turn % servingUrls.length]}/recommendations/${userId}`, {});
      if (status === 200) return;
      if (tries === 0) owner.getNon200++;
      if (Date.now() > deadline) {
        owner.getsGivenUp++;
        return;
      }
      turn++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  function pace(perSecond: number, send: () => Promise<void>) {
    if (perSecond <= 0) return;
    const startedAt = Date.now();
    let sent = 0;
    const tick = () => {
      if (stopped) return;
      const due = Math.floor(((Date.now() - startedAt) / 1000) * perSecond);
      for (; sent < due; sent++) track(send);
      setTimeout(tick, 20);
    };
    tick();
  }
  pace(options.postsPerSecond, post);
  pace(options.getsPerSecond, get);

  return {
    nextPhase() {
      const done = phase;
      phase = emptyPhase();
      phaseIndex++;
      return done;
    },
    async settled(done) {
      while (done.pending > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    },
    async stop() {
      stopped = true;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      return phase;
    },
  };
}
