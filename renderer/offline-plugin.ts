/**
 * A tiny Vite plugin that makes the built app load with no network after one online visit:
 * at build time it writes `sw.js`, a service worker that precaches index.html and every emitted
 * asset (the list and a cache version derived from it are baked in), so each build gets its own
 * cache and old ones are dropped on activation.
 * - navigations and index.html: network first, the cached shell when the network fails;
 * - the built (hashed) assets: cache first;
 * - `/api/*` and `/health` are never touched (they must reach the server or fail honestly);
 * - anything else: straight to the network.
 */
import { createHash } from 'node:crypto';
import type { Plugin } from 'vite';

/** The service worker itself; serialised with Function.prototype.toString into sw.js. */
function serviceWorkerMain(version: string, assets: string[]): void {
  interface ExtendableEvent extends Event {
    waitUntil(promise: Promise<unknown>): void;
  }
  interface FetchEvent extends ExtendableEvent {
    request: Request;
    respondWith(response: Promise<Response>): void;
  }
  const sw = self as unknown as {
    location: Location;
    skipWaiting(): Promise<void>;
    clients: { claim(): Promise<void> };
    addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
    addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
  };
  const CACHE = `emdad-shell-${version}`;
  const scope = new URL('./', sw.location.href);
  const shellUrl = new URL('index.html', scope).href;
  const precache = [shellUrl, ...assets.map((a) => new URL(a, scope).href)];
  const assetSet = new Set(precache);

  sw.addEventListener('install', (event) => {
    event.waitUntil(
      caches
        .open(CACHE)
        .then((cache) => cache.addAll(precache))
        .then(() => sw.skipWaiting()),
    );
  });

  sw.addEventListener('activate', (event) => {
    event.waitUntil(
      caches
        .keys()
        .then((keys) =>
          Promise.all(
            keys.filter((k) => k.startsWith('emdad-shell-') && k !== CACHE).map((k) => caches.delete(k)),
          ),
        )
        .then(() => sw.clients.claim()),
    );
  });

  sw.addEventListener('fetch', (event) => {
    const request = event.request;
    if (request.method !== 'GET') return;
    const url = new URL(request.url);
    if (url.origin !== scope.origin) return;
    if (url.pathname.startsWith('/api/') || url.pathname === '/api' || url.pathname === '/health') return;
    const isShell = request.mode === 'navigate' || url.href === shellUrl || url.href === scope.href;
    if (isShell) {
      event.respondWith(
        fetch(request)
          .then((response) => {
            if (response.ok) {
              const copy = response.clone();
              void caches.open(CACHE).then((cache) => cache.put(shellUrl, copy));
            }
            return response;
          })
          .catch(() => caches.match(shellUrl).then((cached) => cached ?? Response.error())),
      );
      return;
    }
    url.search = '';
    if (assetSet.has(url.href)) {
      event.respondWith(caches.match(url.href).then((cached) => cached ?? fetch(request)));
    }
  });
}

export function offlineShellPlugin(): Plugin {
  return {
    name: 'emdad-offline-shell',
    apply: 'build',
    generateBundle(_options, bundle) {
      const assets = Object.keys(bundle)
        .filter((name) => name !== 'index.html' && !name.endsWith('.map'))
        .sort();
      const version = createHash('sha256').update(assets.join('\n')).digest('hex').slice(0, 16);
      const source = `// Generated at build time by offline-plugin.ts. Do not edit.\n(${serviceWorkerMain.toString()})(${JSON.stringify(version)}, ${JSON.stringify(assets)});\n`;
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}
