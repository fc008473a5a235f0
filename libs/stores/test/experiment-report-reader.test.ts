import { randomBytes, randomUUID } from 'node:crypto';
import type { ConsumedEvent, ImpressionEvent } from '@lambdarec/contracts';
import { encodeRecommendationId } from '@lambdarec/domain';
import { buildClickEvent } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { createEventArchive } from '../src/event-archive.js';
import { createExperimentReportReader, type AttributedAction, type ExperimentReportPage } from '../src/experiment-report-reader.js';
import { pool, useMigratedPostgres } from './migrated-postgres.js';

useMigratedPostgres();

const HOUR = 3_600_000;
const at = (hoursAgo: number) => new Date(Date.now() - hoursAgo * HOUR).toISOString();
const consumed = (event: ConsumedEvent['event'], offset: number): ConsumedEvent => ({
  event,
  eventTime: new Date(event.timestamp!),
  arrivedAt: new Date(event.timestamp!),
  imported: false,
  offset: String(offset),
});
const impression = (userId: string, recommendationId: string, productIds: string[], timestamp: string): ImpressionEvent => ({
  eventId: randomUUID(),
  type: 'impression',
  userId,
  recommendationId,
  productIds,
  timestamp,
});

/** The actions the reader attributes to the experiment with `tag`, by user and product. */
async function actionsOf(tag: number): Promise<AttributedAction[]> {
  const actions: AttributedAction[] = [];
  await createExperimentReportReader({ pool }).read(
    { tag, since: new Date(Date.now() - 48 * HOUR), until: new Date(), attributionHours: 24 },
    (page: ExperimentReportPage) => {
      if (page.kind === 'actions') actions.push(...page.rows);
    },
  );
  return actions.sort((a, b) => `${a.userId}${a.type}`.localeCompare(`${b.userId}${b.type}`));
}

describe('experiment report reader', () => {
  it("takes a click's position from the list shown when the event's does not match it, and only the same user's list", async () => {
    const tag = 4001;
    const id = () => encodeRecommendationId(randomBytes(16), { tag, variantIndex: 0 });
    const [good, shifted, absent, unseen] = ['rr-good', 'rr-shifted', 'rr-absent', 'rr-unseen'];
    const [goodId, shiftedId, absentId, unseenId] = [id(), id(), id(), id()];
    const events = [
      impression(good, goodId, ['p1', 'p2', 'p3'], at(3)),
      buildClickEvent({ type: 'click', userId: good, productId: 'p2', recommendationId: goodId, position: 1, timestamp: at(3) }),
      // Counted on another list than the one shown: p3 is at 2 in the list shown.
      impression(shifted, shiftedId, ['p1', 'p2', 'p3'], at(3)),
      buildClickEvent({ type: 'click', userId: shifted, productId: 'p3', recommendationId: shiftedId, position: 1, timestamp: at(3) }),
      // A product the list shown does not have: no position.
      impression(absent, absentId, ['p1'], at(3)),
      buildClickEvent({ type: 'click', userId: absent, productId: 'p9', recommendationId: absentId, position: 0, timestamp: at(3) }),
      // No impression of its own (another user posted one with its id): the event's word stands.
      impression('rr-someone-else', unseenId, ['p7', 'p8'], at(3)),
      buildClickEvent({ type: 'click', userId: unseen, productId: 'p5', recommendationId: unseenId, position: 4, timestamp: at(3) }),
    ];
    await createEventArchive({ pool }).append({
      topic: 't-report',
      partition: 0,
      events: events.map((e, i) => consumed(e, i)),
      nextOffset: String(events.length),
    });
    const positions = Object.fromEntries((await actionsOf(tag)).map((a) => [a.userId, a.position]));
    expect(positions).toEqual({ 'rr-good': 1, 'rr-shifted': 2, 'rr-absent': null, 'rr-unseen': 4 });
  });

  it("credits a purchase without an id to the latest list its product was clicked on, and not when that list is another experiment's", async () => {
    const [mine, theirs] = [4002, 4003];
    const id = (tag: number) => encodeRecommendationId(randomBytes(16), { tag, variantIndex: 1 });
    const [early, late, other] = [id(mine), id(mine), id(theirs)];
    const events = [
      buildClickEvent({ type: 'click', userId: 'rr-buyer', productId: 'p1', recommendationId: early, position: 0, timestamp: at(5) }),
      buildClickEvent({ type: 'click', userId: 'rr-buyer', productId: 'p1', recommendationId: late, position: 3, timestamp: at(4) }),
      buildClickEvent({ userId: 'rr-buyer', type: 'purchase', productId: 'p1', value: 12, timestamp: at(3) }),
      buildClickEvent({ type: 'click', userId: 'rr-switcher', productId: 'p2', recommendationId: early, position: 0, timestamp: at(5) }),
      buildClickEvent({ type: 'click', userId: 'rr-switcher', productId: 'p2', recommendationId: other, position: 0, timestamp: at(4) }),
      buildClickEvent({ userId: 'rr-switcher', type: 'purchase', productId: 'p2', value: 30, timestamp: at(3) }),
    ];
    await createEventArchive({ pool }).append({
      topic: 't-report',
      partition: 1,
      events: events.map((e, i) => consumed(e, i)),
      nextOffset: String(events.length),
    });
    const purchases = (await actionsOf(mine)).filter((a) => a.type === 'purchase');
    expect(purchases).toEqual([
      expect.objectContaining({ userId: 'rr-buyer', recommendationId: late, position: 3, value: 12, throughClick: true }),
    ]);
  });
});
