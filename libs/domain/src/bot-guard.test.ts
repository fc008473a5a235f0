import { describe, expect, it } from 'vitest';
import { botFlagAfter, botVerdict, DEFAULT_BOT_POLICY, eventsThatCount, isFlagged } from './bot-guard.js';

const policy = DEFAULT_BOT_POLICY;
const views = (n: number, gapMs: number, product = (i: number) => `p${i}`) =>
  Array.from({ length: n }, (_, i) => ({ type: 'view' as const, productId: product(i), arrivedAt: 1_000_000 + i * gapMs }));

describe('bot verdict', () => {
  it('flags more than the limit of events arriving within a minute, and not the limit itself', () => {
    expect(botVerdict(views(policy.botMaxEventsPerMinute, 1000), policy)).toBeNull();
    expect(botVerdict(views(policy.botMaxEventsPerMinute + 1, 1000), policy)).toEqual({ reason: 'rate', from: 1_000_000 });
    // The same number spread over more than a minute is a busy shopper.
    expect(botVerdict(views(policy.botMaxEventsPerMinute + 1, 1300), policy)).toBeNull();
  });

  it('flags the same page over and over within the repeat window, from the first of the repeats', () => {
    expect(
      botVerdict(
        views(4, 2000, () => 'same'),
        policy,
      ),
    ).toEqual({ reason: 'repeat', from: 1_002_000 });
    expect(
      botVerdict(
        views(2, 2000, () => 'same'),
        policy,
      ),
    ).toBeNull();
    expect(
      botVerdict(
        views(3, policy.botRepeatWindowMs, () => 'same'),
        policy,
      ),
    ).toBeNull();
  });

  it('leaves a shopper\u2019s funnel on one product alone: the type changes at every step', () => {
    const funnel = (['view', 'click', 'add_to_cart', 'purchase'] as const).map((type, i) => ({
      type,
      productId: 'kettle',
      arrivedAt: 1_000 + i * 500,
    }));
    expect(botVerdict(funnel, policy)).toBeNull();
  });

  it('counts a checkout as one: many purchases of distinct products that arrived together', () => {
    const basket = Array.from({ length: 120 }, (_, i) => ({ type: 'purchase' as const, productId: `line-${i}`, arrivedAt: 5_000 }));
    expect(botVerdict(basket, policy)).toBeNull();
    // The same number of purchases arriving one by one is a bot.
    expect(
      botVerdict(
        basket.map((e, i) => ({ ...e, arrivedAt: 5_000 + i })),
        policy,
      )?.reason,
    ).toBe('rate');
    // And so is the same line over and over in one request.
    expect(
      botVerdict(
        basket.map((e) => ({ ...e, productId: 'same' })),
        policy,
      )?.reason,
    ).toBe('repeat');
  });

  it('judges arrival, not the time the client claims: spaced timestamps arriving in a burst are flagged', () => {
    // The attack of issue 15: events dated 1.2 s apart alternating two products (neither rule
    // fires on those times), all sent within a few seconds.
    const burst = Array.from({ length: policy.botMaxEventsPerMinute + 1 }, (_, i) => ({
      type: 'view' as const,
      productId: i % 2 === 0 ? 'a' : 'b',
      arrivedAt: 9_000 + i * 50,
    }));
    expect(botVerdict(burst, policy)).toEqual({ reason: 'rate', from: 9_000 });
  });

  it('judges the newest events only', () => {
    const earlierBurst = views(3, 100, () => 'same');
    expect(botVerdict([...earlierBurst, { type: 'view', productId: 'other', arrivedAt: 2_000_000 }], policy)).toBeNull();
    expect(botVerdict([], policy)).toBeNull();
  });
});

describe('the flag after a sequence of arrivals', () => {
  it('starts at the burst, lasts botFlagMs after its last violation, and is gone once it has ended', () => {
    const start = 1_000_000;
    const burst = views(4, 1000, () => 'same').map((e, i) => ({ ...e, arrivedAt: start + i * 1000 }));
    expect(botFlagAfter(burst, policy)).toEqual({ reason: 'repeat', from: start, until: start + 3000 + policy.botFlagMs });
    const later = { type: 'view' as const, productId: 'other', arrivedAt: start + 3000 + policy.botFlagMs + 1 };
    expect(botFlagAfter([...burst, later], policy)).toBeUndefined();
  });
});

describe('flagged events', () => {
  it('count unless they arrived inside the flagged burst; the flag holds until its time', () => {
    const events = [{ productId: 'p0' }, { productId: 'p1', botBurst: true }, { productId: 'p2', botBurst: true }, { productId: 'p3' }];
    expect(eventsThatCount(events).map((e) => e.productId)).toEqual(['p0', 'p3']);
    const flag = { reason: 'rate' as const, from: 0, until: 1000 };
    expect(isFlagged(flag, flag.until)).toBe(true);
    expect(isFlagged(flag, flag.until + 1)).toBe(false);
    expect(isFlagged(undefined, 0)).toBe(false);
  });
});
