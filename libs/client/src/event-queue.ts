import { takeBatch } from './batches.js';
import { CLIENT_ERROR_CODES, LambdarecError } from './errors.js';
import type { SentEvent } from './types.js';

export interface EventQueueOptions {
  /** Sends one batch; resolves once ingest acknowledged it, rejects when the sender gave up. */
  deliver: (events: SentEvent[]) => Promise<unknown>;
  /** A batch the sender gave up on, or events pushed out of a full queue. */
  onDropped: (error: LambdarecError, events: SentEvent[]) => void;
  flushIntervalMs: number;
  maxBatch: number;
  maxQueued: number;
}

interface Entry {
  seq: number;
  event: SentEvent;
}

/**
 * Events waiting for ingest, sent one batch at a time in the order tracked: a user's events reach
 * the topic in the order they happened, and a retrying batch holds back the ones after it instead
 * of racing them. A batch leaves when `maxBatch` events wait, `flushIntervalMs` after the first of
 * them, or on `flush()`.
 */
export function createEventQueue({ deliver, onDropped, flushIntervalMs, maxBatch, maxQueued }: EventQueueOptions) {
  let queued: Entry[] = [];
  let inFlight: Entry[] | undefined;
  let nextSeq = 1;
  // Events up to this sequence number were asked to leave now (a flush or the timer).
  let sendThrough = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pumping = false;
  let waiters: { through: number; resolve: () => void }[] = [];

  /** Every event before the oldest one not yet acknowledged nor given up is settled. */
  const settledThrough = () => (inFlight?.[0]?.seq ?? queued[0]?.seq ?? nextSeq) - 1;

  function wakeWaiters(): void {
    const settled = settledThrough();
    const ready = waiters.filter((waiter) => waiter.through <= settled);
    waiters = waiters.filter((waiter) => waiter.through > settled);
    for (const waiter of ready) waiter.resolve();
  }

  function stopTimer(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  }

  function startTimer(): void {
    if (timer !== undefined || queued.length === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      sendNow(nextSeq - 1);
    }, flushIntervalMs);
  }

  function sendNow(through: number): void {
    sendThrough = Math.max(sendThrough, through);
    void pump();
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (queued.length > 0 && (queued[0]!.seq <= sendThrough || queued.length >= maxBatch)) {
        const count = takeBatch(
          queued.map((entry) => entry.event),
          maxBatch,
        ).length;
        stopTimer();
        inFlight = queued.splice(0, count);
        const events = inFlight.map((entry) => entry.event);
        try {
          await deliver(events);
        } catch (err) {
          onDropped(
            err instanceof LambdarecError ? err : new LambdarecError(CLIENT_ERROR_CODES.NETWORK, String(err), { cause: err }),
            events,
          );
        }
        inFlight = undefined;
        wakeWaiters();
      }
    } finally {
      pumping = false;
    }
    startTimer();
  }

  return {
    add(event: SentEvent): void {
      if (queued.length >= maxQueued) {
        // Ingest has been out of reach for long: keep the newest events, say which were let go.
        const dropped = queued.splice(0, queued.length - maxQueued + 1).map((entry) => entry.event);
        onDropped(
          new LambdarecError(CLIENT_ERROR_CODES.QUEUE_FULL, `more than ${maxQueued} events waiting for ingest; the oldest were dropped`),
          dropped,
        );
      }
      queued.push({ seq: nextSeq++, event });
      if (queued.length >= maxBatch) void pump();
      else startTimer();
    },

    /** Resolves when every event added so far is acknowledged or given up; never rejects. */
    flush(): Promise<void> {
      const through = nextSeq - 1;
      if (settledThrough() >= through) return Promise.resolve();
      const settled = new Promise<void>((resolve) => waiters.push({ through, resolve }));
      sendNow(through);
      return settled;
    },

    /**
     * Takes the events not yet sent out of the queue (the page is going away and they leave
     * another way); they count as settled. A batch already sent, or waiting for its retry, stays.
     */
    takeQueued(): SentEvent[] {
      const taken = queued.map((entry) => entry.event);
      queued = [];
      stopTimer();
      wakeWaiters();
      return taken;
    },

    /** Stops the timer; what is queued stays until the next flush. */
    pause(): void {
      stopTimer();
    },

    get size(): number {
      return queued.length + (inFlight?.length ?? 0);
    },
  };
}

export type EventQueue = ReturnType<typeof createEventQueue>;
