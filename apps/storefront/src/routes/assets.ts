import { readFile } from 'node:fs/promises';
import type { HttpServer } from '@lambdarec/http';

/** The page's one script and one stylesheet: plain files, no front-end build. */
const ASSETS = {
  'storefront.js': 'text/javascript; charset=utf-8',
  'storefront.css': 'text/css; charset=utf-8',
} as const;

export async function assetsRoutes(app: HttpServer, { directory }: { directory: URL }) {
  // Read once at start-up: a missing file fails the start, not a shopper's page.
  for (const [name, type] of Object.entries(ASSETS)) {
    const body = await readFile(new URL(name, directory));
    app.get(`/assets/${name}`, { schema: { hide: true } }, async (_request, reply) =>
      // Revalidated on every load, so a new version of the script is never mixed with an old page.
      reply.type(type).header('cache-control', 'no-cache').send(body),
    );
  }
}
