import { BOT_RATE_WINDOW_MS } from '@lambdarec/domain';
import { describe, expect, it } from 'vitest';
import { redisScript } from '../src/redis-scripts.js';
import { FIELDS_PER_EVENT, FINGERPRINT_LENGTH, FORMAT_VERSION, GUARD_FINGERPRINT_LENGTH } from '../src/session-format.js';

/** The Lua constants the script mirrors from TypeScript: `local X = <value> -- <TS name> ...`. */
function mirroredConstants(script: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [, value, tsName] of script.matchAll(/^local \w+ = ('[^']*'|\d+) -- ([A-Z_]+)\b/gm))
    found[tsName!] = value!.replace(/^'|'$/g, '');
  return found;
}

describe('the session script', () => {
  it('holds the constants it mirrors from TypeScript equal to them', () => {
    expect(mirroredConstants(redisScript('record-sessions'))).toEqual({
      FORMAT_VERSION,
      FINGERPRINT_LENGTH: String(FINGERPRINT_LENGTH),
      GUARD_FINGERPRINT_LENGTH: String(GUARD_FINGERPRINT_LENGTH),
      FIELDS_PER_EVENT: String(FIELDS_PER_EVENT),
      BOT_RATE_WINDOW_MS: String(BOT_RATE_WINDOW_MS),
    });
  });
});
