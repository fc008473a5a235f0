import type { Logger, RedisClient } from '@lambdarec/clients';
import { Counter, type Registry } from '@lambdarec/metrics';
import { createBotFlagLedger, type BotFlagLedger } from '@lambdarec/stores';

/**
 * The ledger the speed layer records bot flags in for the batch layer, with what its daily cap
 * drops counted in `lrec_bot_flags_dropped_total` (and logged by the ledger).
 */
export function createSpeedBotFlagLedger({
  redis,
  keyPrefix,
  log,
  registry,
}: {
  redis: RedisClient;
  keyPrefix: string;
  log: Logger;
  registry: Registry;
}): BotFlagLedger {
  const dropped = new Counter({
    name: 'lrec_bot_flags_dropped_total',
    help: "Bot flags the ledger refused because their day had reached its cap: those bursts' events stay in the batch model",
    registers: [registry],
  });
  return createBotFlagLedger({
    redis,
    keyPrefix,
    log: log.child({ component: 'bot-flag-ledger' }),
    onDropped: ({ dropped: count }) => dropped.inc(count),
  });
}
