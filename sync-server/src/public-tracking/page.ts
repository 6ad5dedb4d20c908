/**
 * The merchant's tracking page (`/track`): static HTML and CSS from sync-server/track-page/, and its
 * TypeScript bundled once, on first request, with esbuild (the same bundler tsx runs the server
 * with) into one script served from this origin — the console's CSP (`script-src 'self'`, no inline
 * script, no eval) applies unchanged. A separate tiny page rather than a route of the renderer: a
 * merchant on a phone should not download the field app (RxDB, React, the device service) to read
 * one status, and the page must work without sign-in or a renderer build.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const TRACK_PAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'track-page');

export interface TrackPageAssets {
  html(): Promise<string>;
  css(): Promise<string>;
  script(): Promise<string>;
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= make().catch((error: unknown) => {
      value = undefined; // a failed build is retried on the next request
      throw error;
    });
    return value;
  };
}

export function trackPageAssets(dir = TRACK_PAGE_DIR): TrackPageAssets {
  return {
    html: once(() => readFile(join(dir, 'index.html'), 'utf8')),
    css: once(() => readFile(join(dir, 'track.css'), 'utf8')),
    script: once(async () => {
      const result = await build({
        entryPoints: [join(dir, 'main.ts')],
        bundle: true,
        write: false,
        format: 'iife',
        platform: 'browser',
        target: 'es2020',
        minify: true,
        legalComments: 'none',
        logLevel: 'silent',
      });
      return result.outputFiles[0]!.text;
    }),
  };
}
