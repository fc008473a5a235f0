import { readFileSync } from 'node:fs';

const scripts = new Map<string, string>();

/**
 * A Redis script of this library by name: `lua/<name>.lua`, read once. From source the files sit
 * in src/lua; a bundled app (tools/build-app.ts) has them copied to dist/lua, beside main.js.
 */
export function redisScript(name: 'record-sessions' | 'add-bot-flags' | 'count-login-attempt' | 'give-back-login-attempt'): string {
  let script = scripts.get(name);
  if (script === undefined) scripts.set(name, (script = readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8')));
  return script;
}
