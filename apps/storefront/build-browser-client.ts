/** `npm run build`, after the app bundle: @lambdarec/client for the page, in dist/public beside storefront.js. */
import { mkdir, writeFile } from 'node:fs/promises';
import { BROWSER_CLIENT_FILE, bundleBrowserClient } from './src/browser-client.js';

const publicDirectory = new URL('./dist/public/', import.meta.url);
await mkdir(publicDirectory, { recursive: true });
await writeFile(new URL(BROWSER_CLIENT_FILE, publicDirectory), await bundleBrowserClient());
process.stdout.write(`@lambdarec/storefront: dist/public/${BROWSER_CLIENT_FILE}\n`);
