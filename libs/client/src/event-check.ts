import type { ErrorIssue, LambdarecEvent } from './types.js';

/** userId and productId: the alphabet ingest takes (docs/design.md, "The event"). */
export const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PRODUCT_EVENT_TYPES = new Set(['view', 'click', 'add_to_cart', 'purchase']);
export const MAX_IMPRESSION_PRODUCTS = 100;
/** The fields ingest takes on each kind of event: it refuses any other (a typo such as `price`). */
const PRODUCT_EVENT_FIELDS = new Set([
  'eventId',
  'userId',
  'sessionId',
  'type',
  'productId',
  'category',
  'timestamp',
  'value',
  'recommendationId',
  'position',
]);
const IMPRESSION_FIELDS = new Set(['eventId', 'userId', 'sessionId', 'type', 'recommendationId', 'productIds', 'timestamp']);
/** Ingest's bounds on the fields a shop's code gets wrong by mistake (a position from another list, a long session id). */
const MAX_POSITION = 10_000;
const MAX_SESSION_ID = 128;

/**
 * The mistakes a shop's code makes most (a missing or malformed id, an impression without its
 * list), found before the event joins a batch: ingest refuses a whole request for one bad event,
 * so one of them would take the events queued beside it down too. Ingest still checks everything.
 */
export function eventIssues(event: LambdarecEvent): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  const bad = (field: string, message: string) => issues.push({ path: [field], message });
  const loose = event as unknown as Record<string, unknown>;
  if (typeof loose['userId'] !== 'string' || !ID_PATTERN.test(loose['userId']))
    bad('userId', 'userId must be 1–128 characters of A-Z a-z 0-9 _ . : @ -');
  if (loose['eventId'] !== undefined && (typeof loose['eventId'] !== 'string' || !UUID_PATTERN.test(loose['eventId'])))
    bad('eventId', 'eventId must be a UUID');
  if (loose['sessionId'] !== undefined && (typeof loose['sessionId'] !== 'string' || loose['sessionId'].length > MAX_SESSION_ID))
    bad('sessionId', `sessionId must be a string of at most ${MAX_SESSION_ID} characters`);
  if (loose['timestamp'] !== undefined && (typeof loose['timestamp'] !== 'string' || Number.isNaN(Date.parse(loose['timestamp']))))
    bad('timestamp', 'timestamp must be an ISO-8601 date with an offset');
  const known = event.type === 'impression' ? IMPRESSION_FIELDS : PRODUCT_EVENT_FIELDS;
  for (const field of Object.keys(loose))
    if (!known.has(field) && loose[field] !== undefined) bad(field, `${field} is not a field of this event type`);
  const recommendationId = loose['recommendationId'];
  if (recommendationId !== undefined && (typeof recommendationId !== 'string' || !UUID_PATTERN.test(recommendationId)))
    bad('recommendationId', "recommendationId must be a UUID (the answer's recommendationId)");
  if (event.type === 'impression') {
    if (recommendationId === undefined) bad('recommendationId', 'an impression names the answer shown: recommendationId is required');
    const { productIds } = event;
    if (!Array.isArray(productIds) || productIds.length === 0 || productIds.length > MAX_IMPRESSION_PRODUCTS)
      bad('productIds', `productIds must list 1–${MAX_IMPRESSION_PRODUCTS} products`);
    else if (!productIds.every((id) => typeof id === 'string' && ID_PATTERN.test(id)))
      bad('productIds', 'every productId must be 1–128 characters of A-Z a-z 0-9 _ . : @ -');
  } else if (PRODUCT_EVENT_TYPES.has(event.type)) {
    if (typeof event.productId !== 'string' || !ID_PATTERN.test(event.productId))
      bad('productId', 'productId must be 1–128 characters of A-Z a-z 0-9 _ . : @ -');
    if (event.position !== undefined && !(Number.isInteger(event.position) && event.position >= 0 && event.position <= MAX_POSITION))
      bad('position', `position must be an integer from 0 to ${MAX_POSITION}`);
    if (event.value !== undefined && !(Number.isFinite(event.value) && event.value >= 0)) bad('value', 'value must be a number, 0 or more');
  } else {
    bad('type', 'type must be view, click, add_to_cart, purchase or impression');
  }
  return issues;
}
