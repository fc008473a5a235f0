import { describe, expect, it } from 'vitest';
import {
  clickEventSchema,
  MAX_EVENTS_PER_REQUEST,
  parseEventsBody,
  type TrackedEventInput,
  type EventIssue,
  type ParsedEvents,
} from './event.js';

const NOW = new Date('2025-03-01T12:00:00Z');
const MINUTE = 60_000;

const buildEvent = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  userId: 'u42',
  type: 'view',
  productId: 'p17',
  ...overrides,
});

const parse = (body: unknown) => parseEventsBody(body, NOW);

const acceptedEvents = (result: ParsedEvents): TrackedEventInput[] => {
  if (!result.ok) throw new Error(`expected the body to be accepted, got ${JSON.stringify(result.issues)}`);
  return result.events;
};

const issuesOf = (result: ParsedEvents): EventIssue[] => {
  if (result.ok) throw new Error('expected the body to be rejected');
  return result.issues;
};

const pathsOf = (result: ParsedEvents) => issuesOf(result).map((issue) => issue.path);

const isoAt = (ms: number) => new Date(ms).toISOString();

describe('parseEventsBody', () => {
  it('accepts a single event object', () => {
    expect(acceptedEvents(parse(buildEvent()))).toEqual([{ userId: 'u42', type: 'view', productId: 'p17' }]);
  });

  it('accepts an array of events, keeping their order', () => {
    const events = acceptedEvents(parse([buildEvent({ productId: 'a' }), buildEvent({ productId: 'b' })]));
    expect(events.map((event) => ('productId' in event ? event.productId : undefined))).toEqual(['a', 'b']);
  });

  it('accepts {events: [...]}', () => {
    expect(acceptedEvents(parse({ events: [buildEvent(), buildEvent({ type: 'purchase' })] }))).toHaveLength(2);
  });

  it('assigns nothing: an event without eventId or timestamp stays without them', () => {
    const [event] = acceptedEvents(parse(buildEvent()));
    expect(event).not.toHaveProperty('eventId');
    expect(event).not.toHaveProperty('timestamp');
  });

  it('accepts every optional field when valid', () => {
    const full = buildEvent({
      eventId: '7d9f3c2e-1b4a-4c8e-9f00-123456789abc',
      sessionId: 's-1',
      type: 'add_to_cart',
      category: 'shoes',
      timestamp: '2025-03-01T11:59:00Z',
      value: 19.99,
    });
    expect(acceptedEvents(parse(full))).toEqual([full]);
  });

  it('accepts the whole userId alphabet and exactly 128 characters', () => {
    expect(parse(buildEvent({ userId: 'Az09_.:@-' })).ok).toBe(true);
    expect(parse(buildEvent({ userId: 'u'.repeat(128) })).ok).toBe(true);
  });

  it('rejects an eventId that is not a UUID', () => {
    expect(pathsOf(parse(buildEvent({ eventId: 'not-a-uuid' })))).toEqual([['eventId']]);
  });

  it('in an array, names each bad field by event index, e.g. [3, "userId"]', () => {
    const body = [buildEvent(), buildEvent(), buildEvent(), buildEvent({ userId: 'has space' })];
    expect(issuesOf(parse(body))).toEqual([{ path: [3, 'userId'], message: expect.stringContaining('userId') }]);
  });

  it('in the wrapped form, names each bad field under "events", e.g. ["events", 1, "type"]', () => {
    expect(pathsOf(parse({ events: [buildEvent(), buildEvent({ type: 'hover' })] }))).toEqual([['events', 1, 'type']]);
  });

  it('for a single object, names the bad field without an index', () => {
    expect(pathsOf(parse(buildEvent({ type: 'hover' })))).toEqual([['type']]);
  });

  it('collects every issue of every event in one answer, accepting none of the batch', () => {
    const result = parse([
      buildEvent({ userId: '' }),
      buildEvent(),
      buildEvent({ type: 'hover', value: -1 }),
      buildEvent({ timestamp: isoAt(NOW.getTime() + 10 * MINUTE) }),
    ]);
    expect(result.ok).toBe(false);
    expect(pathsOf(result)).toEqual([
      [0, 'userId'],
      [2, 'type'],
      [2, 'value'],
      [3, 'timestamp'],
    ]);
  });

  it('rejects an unknown field (strict)', () => {
    const issues = issuesOf(parse([buildEvent({ colour: 'red' })]));
    expect(issues).toEqual([{ path: [0], message: expect.stringContaining('colour') }]);
  });

  it('rejects a missing userId or productId', () => {
    const { userId: _userId, ...withoutUser } = buildEvent();
    const { productId: _productId, ...withoutProduct } = buildEvent();
    expect(pathsOf(parse([withoutUser, withoutProduct]))).toEqual([
      [0, 'userId'],
      [1, 'productId'],
    ]);
  });

  it.each([
    ['a space', 'u 42'],
    ['a slash', 'u/42'],
    ['a non-ASCII letter', 'üser'],
    ['an empty string', ''],
    ['129 characters', 'u'.repeat(129)],
  ])('rejects a userId with %s', (_what, userId) => {
    expect(pathsOf(parse(buildEvent({ userId })))).toEqual([['userId']]);
  });

  it('rejects a productId outside the id alphabet', () => {
    expect(pathsOf(parse(buildEvent({ productId: 'p#1' })))).toEqual([['productId']]);
  });

  it('rejects an event type outside view, click, add_to_cart, purchase', () => {
    expect(pathsOf(parse(buildEvent({ type: 'VIEW' })))).toEqual([['type']]);
  });

  it('accepts each of the four event types', () => {
    const types = ['view', 'click', 'add_to_cart', 'purchase'];
    expect(acceptedEvents(parse(types.map((type) => buildEvent({ type })))).map((event) => event.type)).toEqual(types);
  });

  it('rejects a timestamp without an offset', () => {
    expect(pathsOf(parse(buildEvent({ timestamp: '2025-03-01T11:00:00' })))).toEqual([['timestamp']]);
  });

  it('accepts a timestamp with Z or with a numeric offset', () => {
    expect(parse(buildEvent({ timestamp: '2025-03-01T11:00:00Z' })).ok).toBe(true);
    expect(parse(buildEvent({ timestamp: '2025-03-01T13:00:00+02:00' })).ok).toBe(true);
  });

  it('rejects a timestamp that is not a date at all', () => {
    expect(pathsOf(parse(buildEvent({ timestamp: 'yesterday' })))).toEqual([['timestamp']]);
  });

  it('rejects a timestamp more than 5 minutes in the future', () => {
    const issues = issuesOf(parse([buildEvent({ timestamp: isoAt(NOW.getTime() + 5 * MINUTE + 1000) })]));
    expect(issues).toEqual([{ path: [0, 'timestamp'], message: 'timestamp is more than 5 minutes in the future' }]);
  });

  it('accepts a timestamp 4 minutes in the future (client clock skew)', () => {
    expect(parse(buildEvent({ timestamp: isoAt(NOW.getTime() + 4 * MINUTE) })).ok).toBe(true);
  });

  it('judges the future against the offset, not the wall-clock digits', () => {
    // 14:03+02:00 is 12:03Z, 3 minutes ahead of NOW: fine. 14:03Z is two hours ahead: rejected.
    expect(parse(buildEvent({ timestamp: '2025-03-01T14:03:00+02:00' })).ok).toBe(true);
    expect(parse(buildEvent({ timestamp: '2025-03-01T14:03:00Z' })).ok).toBe(false);
  });

  it('uses the now it is given, not the clock', () => {
    const timestamp = '2030-01-01T00:00:00Z';
    expect(parseEventsBody(buildEvent({ timestamp }), new Date('2030-01-01T00:00:00Z')).ok).toBe(true);
    expect(parseEventsBody(buildEvent({ timestamp }), new Date('2029-12-31T00:00:00Z')).ok).toBe(false);
  });

  it('with a maximum age, rejects an older timestamp naming the field and the bound, and accepts a younger one', () => {
    const options = { maxAgeHours: 168 };
    const eightDaysAgo = isoAt(NOW.getTime() - 8 * 24 * 60 * MINUTE);
    const rejected = issuesOf(parseEventsBody([buildEvent(), buildEvent({ timestamp: eightDaysAgo })], NOW, options));
    expect(rejected).toEqual([
      {
        path: [1, 'timestamp'],
        message: expect.stringMatching(/more than 168 hours ago.*history imports authenticate with the operator key/),
      },
    ]);
    expect(parseEventsBody(buildEvent({ timestamp: isoAt(NOW.getTime() - 2 * 24 * 60 * MINUTE) }), NOW, options).ok).toBe(true);
  });

  it('without a maximum age (a history import), accepts any timestamp from 2000 on', () => {
    expect(parse(buildEvent({ timestamp: '2010-12-01T08:26:00Z' })).ok).toBe(true);
    expect(pathsOf(parse(buildEvent({ timestamp: '1999-12-31T23:59:59Z' })))).toEqual([['timestamp']]);
  });

  it('rejects a negative value and accepts zero', () => {
    expect(pathsOf(parse(buildEvent({ value: -0.01 })))).toEqual([['value']]);
    expect(parse(buildEvent({ value: 0 })).ok).toBe(true);
  });

  it('rejects a value that is not a number', () => {
    expect(pathsOf(parse(buildEvent({ value: '10' })))).toEqual([['value']]);
  });

  it('rejects a sessionId longer than 128 characters', () => {
    expect(pathsOf(parse(buildEvent({ sessionId: 's'.repeat(129) })))).toEqual([['sessionId']]);
  });

  it('rejects an empty array', () => {
    const result = parse([]);
    expect(result).toEqual({ ok: false, tooMany: false, issues: [{ path: [], message: 'at least one event is required' }], eventCount: 0 });
  });

  it('rejects an empty events list in the wrapped form, naming "events"', () => {
    expect(pathsOf(parse({ events: [] }))).toEqual([['events']]);
  });

  it('rejects {events: ...} when events is not an array', () => {
    expect(issuesOf(parse({ events: 'e1' }))).toEqual([{ path: ['events'], message: 'events must be an array' }]);
  });

  it(`accepts exactly ${MAX_EVENTS_PER_REQUEST} events`, () => {
    expect(acceptedEvents(parse(Array.from({ length: MAX_EVENTS_PER_REQUEST }, () => buildEvent())))).toHaveLength(500);
  });

  it('with 501 events, says tooMany so the caller can answer 413', () => {
    const result = parse(Array.from({ length: MAX_EVENTS_PER_REQUEST + 1 }, () => buildEvent()));
    expect(result).toEqual({ ok: false, tooMany: true, issues: [{ path: [], message: expect.stringContaining('501') }], eventCount: 501 });
  });

  it('with 501 wrapped events, also says tooMany', () => {
    const result = parse({ events: Array.from({ length: 501 }, () => buildEvent()) });
    expect(result.ok === false && result.tooMany).toBe(true);
  });

  it.each([
    ['a string', 'view p17'],
    ['null', null],
    ['a number', 42],
    ['a boolean', true],
    ['undefined', undefined],
  ])('rejects %s as body with a message saying what a body may be', (_what, body) => {
    expect(parse(body)).toEqual({
      ok: false,
      tooMany: false,
      issues: [{ path: [], message: 'body must be an event object, an array of events or {"events": [...]}' }],
      eventCount: 0,
    });
  });

  it('says how many events a rejected body held, valid ones included: what reading it cost', () => {
    const result = parse([buildEvent(), buildEvent({ type: 'like' }), buildEvent({ userId: '' })]);
    expect(result.ok === false && result.eventCount).toBe(3);
  });

  it('rejects an array entry that is not an object, at its index', () => {
    expect(pathsOf(parse([buildEvent(), 'oops', null]))).toEqual([[1], [2]]);
  });
});

describe('clickEventSchema (an event as it travels on the topic)', () => {
  it('requires an eventId', () => {
    expect(clickEventSchema.safeParse(buildEvent()).success).toBe(false);
    expect(clickEventSchema.safeParse(buildEvent({ eventId: '7d9f3c2e-1b4a-4c8e-9f00-123456789abc' })).success).toBe(true);
  });
});

describe('impressions and attribution fields', () => {
  const RECOMMENDATION_ID = '8f0a2b1c-0000-8000-8000-000000000001';
  const impression = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    userId: 'u42',
    type: 'impression',
    recommendationId: RECOMMENDATION_ID,
    productIds: ['p1', 'p2', 'p3'],
    ...overrides,
  });

  it('accepts an impression with its list in the order shown', () => {
    expect(acceptedEvents(parse(impression()))).toEqual([impression()]);
  });

  it('requires the recommendationId of an impression, naming it', () => {
    expect(pathsOf(parse([impression({ recommendationId: undefined })]))).toEqual([[0, 'recommendationId']]);
  });

  it('names productIds when an impression lists none, too many, or a bad id', () => {
    const tooMany = Array.from({ length: 101 }, (_, i) => `p${i}`);
    expect(
      pathsOf(parse([impression({ productIds: [] }), impression({ productIds: tooMany }), impression({ productIds: ['ok', 'bad id'] })])),
    ).toEqual([
      [0, 'productIds'],
      [1, 'productIds'],
      [2, 'productIds', 1],
    ]);
  });

  it('refuses a productId on an impression: the list is in productIds', () => {
    const issues = issuesOf(parse(impression({ productId: 'p1' })));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/productId/);
  });

  it('accepts a click with the recommendationId and position it came from', () => {
    const click = buildEvent({ type: 'click', recommendationId: RECOMMENDATION_ID, position: 3 });
    expect(acceptedEvents(parse(click))).toEqual([click]);
  });

  it('names a recommendationId that is not a UUID and a position that is negative or fractional', () => {
    const result = parse([buildEvent({ recommendationId: 'r1' }), buildEvent({ position: -1 }), buildEvent({ position: 1.5 })]);
    expect(issuesOf(result).map((issue) => [issue.path, issue.message])).toEqual([
      [[0, 'recommendationId'], "recommendationId must be a UUID (the answer's recommendationId)"],
      [[1, 'position'], 'position must be 0 or more'],
      [[2, 'position'], 'position must be an integer'],
    ]);
  });

  it('still requires a productId on the product event types', () => {
    expect(pathsOf(parse([buildEvent({ type: 'click', productId: undefined, productIds: ['p1'] })]))).toEqual([[0, 'productId'], [0]]);
  });
});
