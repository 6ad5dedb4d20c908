// Bundles the Electron entry points (`npm run build -w @emdad/electron`):
// - dist/main.cjs: the main process; `electron` and native modules stay external.
// - dist/preload.cjs: the sandboxed preload, one CommonJS file with no Node built-ins (a sandboxed
//   preload can require only `electron` and a few polyfilled modules).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const common = {
  bundle: true,
  format: 'cjs',
  target: 'node22',
  sourcemap: 'linked',
  logLevel: 'warning',
  legalComments: 'none',
};

await Promise.all([
  build({
    ...common,
    entryPoints: [path.join(here, 'src/main.ts')],
    outfile: path.join(here, 'dist/main.cjs'),
    platform: 'node',
    external: ['electron', 'serialport', '@serialport/*', 'node-hid', 'bufferutil', 'utf-8-validate'],
  }),
  build({
    ...common,
    entryPoints: [path.join(here, 'src/preload.ts')],
    outfile: path.join(here, 'dist/preload.cjs'),
    platform: 'browser',
    target: 'chrome140',
    minify: true,
    external: ['electron'],
  }),
]);
