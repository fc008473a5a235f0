/** How queued events are cut into requests that ingest takes: pure, so it is tested on its own. */

/** Ingest's limits per request (docs/design.md, "The event"). */
export const MAX_EVENTS_PER_REQUEST = 500;
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** Room for `{"events":[` and the commas, so that a batch cut at the byte limit still fits. */
const ENVELOPE_BYTES = 64;
const encoder = new TextEncoder();

/** Bytes of the event as JSON in UTF-8: what counts against the body limit. */
export const jsonBytes = (value: unknown): number => encoder.encode(JSON.stringify(value)).length;

/**
 * The events from `from` on that fit one request: at most `maxEvents` and `maxBytes` of body. Always at
 * least one event, so that an event too large on its own is sent, refused with 413 and reported,
 * rather than blocking the queue for ever.
 */
export function takeBatch<T>(events: readonly T[], maxEvents: number, maxBytes = MAX_REQUEST_BYTES, from = 0): T[] {
  const batch: T[] = [];
  let bytes = ENVELOPE_BYTES;
  for (let i = from; i < events.length && batch.length < maxEvents; i++) {
    const event = events[i]!;
    const size = jsonBytes(event) + 1;
    if (batch.length > 0 && bytes + size > maxBytes) break;
    batch.push(event);
    bytes += size;
  }
  return batch;
}

/** All of the events, in order, in requests that each fit. */
export function splitIntoBatches<T>(events: readonly T[], maxEvents: number, maxBytes = MAX_REQUEST_BYTES): T[][] {
  const batches: T[][] = [];
  for (let from = 0; from < events.length;) {
    const batch = takeBatch(events, maxEvents, maxBytes, from);
    batches.push(batch);
    from += batch.length;
  }
  return batches;
}
