import { createLogger, type Logger } from '@lambdarec/clients';

/** Silent unless TEST_LOG_LEVEL asks otherwise (e.g. TEST_LOG_LEVEL=debug npm test). */
export const testLogger = (name: string): Logger =>
  createLogger({ name, level: (process.env['TEST_LOG_LEVEL'] as 'debug' | undefined) ?? 'silent' });
