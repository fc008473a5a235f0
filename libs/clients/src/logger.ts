import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  name: string;
  level: LevelWithSilent;
}

/** The one logger factory: JSON lines to stdout, object first (`log.info({ userId }, 'msg')`). */
export const createLogger = ({ name, level }: LoggerOptions): Logger =>
  pino({ name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime });
