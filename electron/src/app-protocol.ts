/**
 * The app:// protocol that serves the built renderer inside Electron.
 *
 * Why not file://: responses from file:// carry no headers, so the CSP (csp.ts) could not be sent
 * with the document, and every file on the disk would share the page's origin. A privileged
 * custom scheme (Electron security checklist: "avoid file://, prefer custom protocols") serves
 * only renderer/dist, with the CSP header on every response, from the stable secure origin
 * app://emdad (IndexedDB — the offline database — lives under that origin).
 * Pure helpers here; main.ts registers the scheme and the handler.
 */
import path from 'node:path';

export const APP_SCHEME = 'app';
export const APP_HOST = 'emdad';
export const APP_ENTRY_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** Privileges for `protocol.registerSchemesAsPrivileged` (standard + secure: storage and fetch work). */
export const APP_SCHEME_PRIVILEGES = {
  standard: true,
  secure: true,
  supportFetchAPI: true,
  corsEnabled: true,
  stream: true,
} as const;

/**
 * The file under `distDir` an app:// request names, or null for anything else (another host,
 * a path escaping the folder, NUL bytes, malformed escapes). `/` is the entry document.
 */
export function resolveAppFile(distDir: string, requestUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  const relative = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^\/+/, '');
  const root = path.resolve(distDir);
  const file = path.resolve(root, relative);
  return file.startsWith(root + path.sep) ? file : null;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Module scripts need a JavaScript MIME type (strict MIME checking); unknown files are bytes. */
export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Headers of every app:// response. */
export function appResponseHeaders(file: string, contentSecurityPolicy: string): Record<string, string> {
  return {
    'Content-Type': contentTypeFor(file),
    'Content-Security-Policy': contentSecurityPolicy,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    // The renderer is rebuilt by `npm start`; never serve yesterday's bundle from cache.
    'Cache-Control': 'no-cache',
  };
}
