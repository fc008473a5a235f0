import { readFile } from 'node:fs/promises';
import type { HttpServer } from '@lambdarec/http';
import { BROWSER_CLIENT_FILE, browserClientScript } from '../browser-client.js';

const SCRIPT = 'text/javascript; charset=utf-8';

/** The page's script and stylesheet as plain files, and @lambdarec/client, which the script imports. */
const ASSETS = {
  'storefront.js': SCRIPT,
  'storefront.css': 'text/css; charset=utf-8',
} as const;

export async function assetsRoutes(app: HttpServer, { directory }: { directory: URL }) {
  // Read once at start-up: a missing file fails the start, not a shopper's page.
  const bodies: (readonly [name: string, type: string, body: Buffer | string])[] = [
    ...(await Promise.all(
      Object.entries(ASSETS).map(async ([name, type]) => [name, type, await readFile(new URL(name, directory))] as const),
    )),
    [BROWSER_CLIENT_FILE, SCRIPT, await browserClientScript(directory)],
  ];
  for (const [name, type, body] of bodies) {
    app.get(`/assets/${name}`, { schema: { hide: true } }, async (_request, reply) =>
      // Revalidated on every load, so a new version of the script is never mixed with an old page.
      reply.type(type).header('cache-control', 'no-cache').send(body),
    );
  }
}
