/**
 * Bundles one app (run from its folder: `node --import tsx ../../tools/build-app.ts`) into
 * dist/main.js: the workspace libraries are inlined, npm packages stay external (installed in the
 * image, and some, like Swagger UI, read their own files at run time), and the migrations and the
 * Redis scripts travel along in dist/migrations and dist/lua.
 */
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

/** Every npm package stays external (node_modules ships in the image); workspace libraries are inlined. */
const externalNpmPackages: Plugin = {
  name: 'external-npm-packages',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@lambdarec/') ? undefined : { path: args.path, external: true },
    );
  },
};

const appDir = process.cwd();
const manifest = JSON.parse(await readFile(path.join(appDir, 'package.json'), 'utf8')) as { name: string };
const outdir = path.join(appDir, 'dist');

await rm(outdir, { recursive: true, force: true });
// Worker-thread entry points (src/*.worker.ts) are bundled beside main.js.
const workers = (await readdir(path.join(appDir, 'src'))).filter((file) => file.endsWith('.worker.ts'));
const result = await build({
  entryPoints: ['main.ts', ...workers].map((file) => path.join(appDir, 'src', file)),
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  plugins: [externalNpmPackages],
  logLevel: 'warning',
  metafile: true,
});
await cp(path.join(appDir, '../../libs/stores/migrations'), path.join(outdir, 'migrations'), { recursive: true });
// libs/stores reads its Redis scripts by name, beside the module that runs them (redis-scripts.ts).
await cp(path.join(appDir, '../../libs/stores/src/lua'), path.join(outdir, 'lua'), { recursive: true });
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
process.stdout.write(
  `${manifest.name}: dist/main.js${workers.map((w) => `, dist/${w.replace('.ts', '.js')}`).join('')} (${(bytes / 1024).toFixed(0)} KiB with source maps)\n`,
);
