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
    // The variable is the first path element; deeper elements (a broker's index) only add detail.
    const [variable, ...detail] = issue.path.map(String);
    const key = variable ?? '(environment)';
    const problem = issue.code === 'invalid_type' && given[key] === undefined ? 'required' : issue.message;
    return detail.length === 0 ? `${key}: ${problem}` : `${key}: ${problem} (item ${detail.join('.')})`;
  });
  throw new ConfigError(problems);
}
