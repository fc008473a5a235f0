import { describe, expect, it } from 'vitest';
import { sumMetric } from './prometheus-text.js';

describe('simulate traffic (pure)', () => {
  it('sums a metric over its label sets and ignores metrics that share its prefix', () => {
    const text = [
      '# HELP lrec_speed_consumer_lag Records on the partition …',
      '# TYPE lrec_speed_consumer_lag gauge',
      'lrec_speed_consumer_lag{partition="0"} 3',
      'lrec_speed_consumer_lag{partition="1"} 4',
      'lrec_speed_consumer_lag_seconds 99',
    ].join('\n');
    expect(sumMetric(text, 'lrec_speed_consumer_lag')).toBe(7);
    expect(sumMetric(text, 'lrec_archive_events_total')).toBeUndefined();
  });
});
