import { z } from 'zod';

export class ConfigError extends Error {
  readonly code = 'LREC_INVALID_CONFIG';
  /** One line per bad variable, e.g. "KAFKA_BROKERS: required". */
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Validates the environment against an app's schema once, at start-up, listing every bad
 * variable in one message. The result is a typed object passed down; nothing else reads env.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  // An empty variable (`PORT=` in a .env file, an unset compose substitution) means "not set".
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(given);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(environment)';
    const received = issue.code === 'invalid_type' && given[key] === undefined ? 'required' : issue.message;
    return `${key}: ${received}`;
  });
  throw new ConfigError(problems);
}
