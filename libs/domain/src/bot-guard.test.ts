import { describe, expect, it } from 'vitest';
import { botVerdict, DEFAULT_BOT_POLICY, eventsThatCount, isFlagged } from './bot-guard.js';

const policy = DEFAULT_BOT_POLICY;
const views = (n: number, gapMs: number, product = (i: number) => `p${i}`) =>
  Array.from({ length: n }, (_, i) => ({ type: 'view' as const, productId: product(i), at: 1_000_000 + i * gapMs }));

describe('bot verdict', () => {
  it('flags more than the limit of events within a minute, and not the limit itself', () => {
    expect(botVerdict(views(policy.botMaxEventsPerMinute, 1000), policy)).toBeNull();
    expect(botVerdict(views(policy.botMaxEventsPerMinute + 1, 1000), policy)).toBe('rate');
    // The same number spread over more than a minute is a busy shopper.
    expect(botVerdict(views(policy.botMaxEventsPerMinute + 1, 1300), policy)).toBeNull();
  });

  it('flags the same page over and over within the repeat window', () => {
    expect(botVerdict(views(3, 2000, () => 'same'), policy)).toBe('repeat');
    expect(botVerdict(views(2, 2000, () => 'same'), policy)).toBeNull();
    expect(botVerdict(views(3, policy.botRepeatWindowMs, () => 'same'), policy)).toBeNull();
  });

  it('leaves a shopper\u2019s funnel on one product alone: the type changes at every step', () => {
    const funnel = (['view', 'click', 'add_to_cart', 'purchase'] as const).map((type, i) => ({ type, productId: 'kettle', at: 1_000 + i * 500 }));
    expect(botVerdict(funnel, policy)).toBeNull();
  });

  it('judges the newest events only', () => {
    const earlierBurst = views(3, 100, () => 'same');
    expect(botVerdict([...earlierBurst, { type: 'view', productId: 'other', at: 2_000_000 }], policy)).toBeNull();
    expect(botVerdict([], policy)).toBeNull();
  });
});

describe('flagged events', () => {
  it('count only after the flag ends; the flag holds until its time', () => {
    const events = views(4, 1000);
    const flag = { reason: 'rate' as const, until: events[1]!.at };
    expect(eventsThatCount(events, flag).map((e) => e.productId)).toEqual(['p2', 'p3']);
    expect(eventsThatCount(events, undefined)).toHaveLength(4);
    expect(isFlagged(flag, flag.until)).toBe(true);
    expect(isFlagged(flag, flag.until + 1)).toBe(false);
    expect(isFlagged(undefined, 0)).toBe(false);
  });
});
