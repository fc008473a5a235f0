import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/** The page imports @lambdarec/client under this name, beside storefront.js. */
export const BROWSER_CLIENT_FILE = 'lambdarec-client.js';

/**
 * @lambdarec/client (TypeScript) as one ESM file for the page. esbuild is a build tool, so it is
 * imported only here: `npm run build` calls this once and ships the file in dist/public, and a
 * storefront run from its sources (npm start, the tests) calls it at start-up, which takes a
 * fraction of a second.
 */
export async function bundleBrowserClient(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [createRequire(import.meta.url).resolve('@lambdarec/client')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    // The browsers a shop still sees: optional chaining and ?? stay, class fields are lowered.
    target: ['es2020'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}

/** The bundle shipped beside the page script (a build), or one made now (running from the sources). */
export async function browserClientScript(assetsDirectory: URL): Promise<Buffer | string> {
  try {
    return await readFile(new URL(BROWSER_CLIENT_FILE, assetsDirectory));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return bundleBrowserClient();
  }
}
