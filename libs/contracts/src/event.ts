import { z } from 'zod';
import { amountSchema, storableText } from './text.js';

/** userId and productId share one alphabet, safe in URLs, Redis keys and Kafka keys. */
export const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;
export const idSchema = (what: string) => z.string().regex(ID_PATTERN, `${what} must be 1–128 characters of A-Z a-z 0-9 _ . : @ -`);

/** What a shopper did with a product: the types that move sessions and feed the model. */
export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** A list of recommendations was shown (docs/design.md, "Closing the loop"): it names a list, not a product. */
export const IMPRESSION_TYPE = 'impression';
/** Every type POST /events takes. */
export const TRACKED_EVENT_TYPES = [...EVENT_TYPES, IMPRESSION_TYPE] as const;
/** How many products one impression may list: the most one answer holds. */
export const MAX_IMPRESSION_PRODUCTS = 100;

export const MAX_EVENTS_PER_REQUEST = 500;
export const MAX_EVENTS_BODY_BYTES = 1024 * 1024;
/** Events further in the future than this are a client clock error, not a late arrival. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;
/** Earlier event times are a client bug (an unset clock, a zero timestamp), not history. */
export const MIN_EVENT_TIME = Date.parse('2000-01-01T00:00:00Z');
/**
 * How far back a live event may be dated (EVENT_MAX_AGE_HOURS): older ones come through a history
 * import, so that a client cannot backdate its events past the bot guard's session window.
 */
export const DEFAULT_EVENT_MAX_AGE_HOURS = 168;

const timestampSchema = z.iso
  .datetime({ offset: true })
  .refine((ts) => !(Date.parse(ts) < MIN_EVENT_TIME), 'timestamp must be on or after 2000-01-01');
const sessionIdSchema = storableText(z.string().max(128));

/** One product event as a storefront posts it (docs/design.md, "The event"). */
export const clickEventInputSchema = z.strictObject({
  eventId: z.uuid().optional(),
  userId: idSchema('userId'),
  sessionId: sessionIdSchema.optional(),
  type: z.enum(EVENT_TYPES),
  productId: idSchema('productId'),
  category: storableText(z.string().min(1).max(128)).optional(),
  timestamp: timestampSchema.optional(),
  value: amountSchema.optional(),
  /** The answer of GET /recommendations the shopper acted on: attribution credits its variant. */
  recommendationId: z.uuid("recommendationId must be a UUID (the answer's recommendationId)").optional(),
  /** The product's 0-based place in that answer. */
  position: z.number().int('position must be an integer').min(0, 'position must be 0 or more').max(10_000).optional(),
});
export type ClickEventInput = z.infer<typeof clickEventInputSchema>;

/** A list shown to a shopper: one event for the whole list, in the order shown. */
export const impressionEventInputSchema = z.strictObject({
  eventId: z.uuid().optional(),
  userId: idSchema('userId'),
  sessionId: sessionIdSchema.optional(),
  type: z.literal(IMPRESSION_TYPE),
  recommendationId: z.uuid("recommendationId must be a UUID (the answer's recommendationId)"),
  productIds: z
    .array(idSchema('productId'))
    .min(1, 'productIds must list at least one product')
    .max(MAX_IMPRESSION_PRODUCTS, `productIds may list at most ${MAX_IMPRESSION_PRODUCTS} products`),
  timestamp: timestampSchema.optional(),
});
export type ImpressionEventInput = z.infer<typeof impressionEventInputSchema>;

/** Anything POST /events takes. */
export type TrackedEventInput = ClickEventInput | ImpressionEventInput;

/**
 * An event as it travels on events.v1: eventId always set. timestamp is optional on the topic
 * because outside publishers may leave it out; consumers then use the Kafka record's timestamp.
 */
export const clickEventSchema = clickEventInputSchema.extend({ eventId: z.uuid() });
export type ClickEvent = z.infer<typeof clickEventSchema>;
export const impressionEventSchema = impressionEventInputSchema.extend({ eventId: z.uuid() });
export type ImpressionEvent = z.infer<typeof impressionEventSchema>;
export type TrackedEvent = ClickEvent | ImpressionEvent;

export const isImpression = (event: TrackedEvent | TrackedEventInput): event is ImpressionEvent => event.type === IMPRESSION_TYPE;

/**
 * The schema for one event, chosen by its `type`: the two shapes have different required fields,
 * and a client that sent an impression wants to hear about productIds, not about a missing productId.
 */
export function inputSchemaFor(item: unknown): typeof impressionEventInputSchema | typeof clickEventInputSchema {
  return saysImpression(item) ? impressionEventInputSchema : clickEventInputSchema;
}

/** The same choice for a record on events.v1, where eventId is always set. */
export function topicSchemaFor(item: unknown): typeof impressionEventSchema | typeof clickEventSchema {
  return saysImpression(item) ? impressionEventSchema : clickEventSchema;
}

const saysImpression = (item: unknown): boolean =>
  item !== null && typeof item === 'object' && (item as { type?: unknown }).type === IMPRESSION_TYPE;

export interface EventIssue {
  /** Path inside the request body, e.g. [3, "userId"] for the fourth event's userId. */
  path: (string | number)[];
  message: string;
}

export type ParsedEvents =
  | { ok: true; events: TrackedEventInput[] }
  /** `eventCount`: the events the body holds, valid or not (0 when it holds no list): what a refused body cost to read. */
  | { ok: false; tooMany: boolean; issues: EventIssue[]; eventCount: number };

export interface ParseEventsOptions {
  /** Timestamps older than this many hours before `now` are rejected. @defaultValue no bound (a history import: from 2000 on) */
  maxAgeHours?: number;
}

/**
 * Normalises any accepted body to a list and validates every event, collecting every issue
 * (a client fixes a batch in one round trip). `now` bounds how far in the future a timestamp may
 * be and, with `maxAgeHours`, how far in the past.
 */
export function parseEventsBody(body: unknown, now: Date, { maxAgeHours }: ParseEventsOptions = {}): ParsedEvents {
  let items: unknown[];
  let basePath: (string | number)[] = [];
  if (Array.isArray(body)) {
    items = body;
  } else if (body !== null && typeof body === 'object' && 'events' in body) {
    const events = (body as { events: unknown }).events;
    if (!Array.isArray(events)) {
      return { ok: false, tooMany: false, issues: [{ path: ['events'], message: 'events must be an array' }], eventCount: 0 };
    }
    items = events;
    basePath = ['events'];
  } else if (body !== null && typeof body === 'object') {
    items = [body];
  } else {
    return {
      ok: false,
      tooMany: false,
      issues: [{ path: [], message: 'body must be an event object, an array of events or {"events": [...]}' }],
      eventCount: 0,
    };
  }
  if (items.length === 0) {
    return { ok: false, tooMany: false, issues: [{ path: basePath, message: 'at least one event is required' }], eventCount: 0 };
  }
  if (items.length > MAX_EVENTS_PER_REQUEST) {
    return {
      ok: false,
      tooMany: true,
      issues: [{ path: basePath, message: `at most ${MAX_EVENTS_PER_REQUEST} events per request, got ${items.length}` }],
      eventCount: items.length,
    };
  }
  const latestAllowed = now.getTime() + MAX_FUTURE_SKEW_MS;
  const earliestAllowed = maxAgeHours === undefined ? -Infinity : now.getTime() - maxAgeHours * 3_600_000;
  const issues: EventIssue[] = [];
  const events: TrackedEventInput[] = [];
  items.forEach((item, index) => {
    const prefix = Array.isArray(body) || basePath.length > 0 ? [...basePath, index] : [];
    const result = inputSchemaFor(item).safeParse(item);
    if (!result.success) {
      for (const issue of result.error.issues) {
        issues.push({ path: [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: issue.message });
      }
      return;
    }
    const ts = result.data.timestamp;
    if (ts !== undefined && Date.parse(ts) > latestAllowed) {
      issues.push({ path: [...prefix, 'timestamp'], message: 'timestamp is more than 5 minutes in the future' });
      return;
    }
    if (ts !== undefined && Date.parse(ts) < earliestAllowed) {
      issues.push({
        path: [...prefix, 'timestamp'],
        message: `more than ${maxAgeHours} hours ago; history imports authenticate with the operator key (Authorization: Bearer <CATALOG_API_KEY>)`,
      });
      return;
    }
    events.push(result.data);
  });
  return issues.length > 0 ? { ok: false, tooMany: false, issues, eventCount: items.length } : { ok: true, events };
}
