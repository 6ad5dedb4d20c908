import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ENTRY_URL, appResponseHeaders, contentTypeFor, resolveAppFile } from './app-protocol.ts';

const dist = path.resolve('/opt/emdad/renderer/dist');

describe('app:// protocol', () => {
  it('serves the entry document and assets from the renderer build only', () => {
    expect(resolveAppFile(dist, APP_ENTRY_URL)).toBe(path.join(dist, 'index.html'));
    expect(resolveAppFile(dist, 'app://emdad/')).toBe(path.join(dist, 'index.html'));
    expect(resolveAppFile(dist, 'app://emdad/assets/index-abc.js?v=1#x')).toBe(
      path.join(dist, 'assets', 'index-abc.js'),
    );
    expect(resolveAppFile(dist, 'app://emdad/fonts/vazir%20matn.woff2')).toBe(
      path.join(dist, 'fonts', 'vazir matn.woff2'),
    );
  });

  it('keeps dot segments inside the build (the URL parser resolves them against the root)', () => {
    for (const url of [
      'app://emdad/../../etc/passwd',
      'app://emdad/%2e%2e/%2e%2e/etc/passwd',
      'app://emdad/assets/../../../x.js',
    ]) {
      const file = resolveAppFile(dist, url);
      expect(file?.startsWith(dist + path.sep)).toBe(true);
    }
  });

  it.each([
    'app://emdad/assets/..%2f..%2f..%2fetc/passwd',
    'app://emdad/..%5c..%5cwindows',
    'app://emdad/a%00.js',
    'app://emdad/%E0%A4%A',
    'app://other/index.html',
    'file:///etc/passwd',
    'https://emdad/index.html',
    'not a url',
  ])('refuses %s', (url) => {
    expect(resolveAppFile(dist, url)).toBeNull();
  });

  it('names JavaScript modules with a JavaScript MIME type', () => {
    expect(contentTypeFor('/x/assets/index.js')).toMatch(/^text\/javascript/);
    expect(contentTypeFor('/x/index.HTML')).toMatch(/^text\/html/);
    expect(contentTypeFor('/x/font.woff2')).toBe('font/woff2');
    expect(contentTypeFor('/x/unknown.bin')).toBe('application/octet-stream');
  });

  it('sends the CSP and nosniff with every response', () => {
    expect(appResponseHeaders('/x/index.html', "default-src 'self'")).toMatchObject({
      'Content-Security-Policy': "default-src 'self'",
      'X-Content-Type-Options': 'nosniff',
    });
  });
});
