import { readFileSync } from 'node:fs';

const scripts = new Map<string, string>();
/** A line that puts another file of lua/ in its place, as bullmq's scripts name their includes. */
const INCLUDE = /^--- @include "([\w/-]+)"$/gm;

const read = (file: string): string => readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');

/**
 * A Redis script of this library by name: `lua/<name>.lua`, with each `--- @include "<file>"`
 * line replaced by `lua/<file>.lua` (Redis scripts cannot load one another), read once. From
 * source the files sit in src/lua; a bundled app (tools/build-app.ts) has them copied to dist/lua,
 * beside main.js.
 */
export function redisScript(name: 'record-sessions' | 'add-bot-flags' | 'count-login-attempt' | 'give-back-login-attempt'): string {
  let script = scripts.get(name);
  if (script === undefined) scripts.set(name, (script = read(name).replace(INCLUDE, (_line, file: string) => read(file).trimEnd())));
  return script;
}
