/**
 * The Electron main process, bundled exactly as build.mjs bundles it, run against a recording fake
 * of the Electron API (the real module would download a binary). Proves the thin wiring in main.ts:
 * sandbox and app:// privileges before 'ready', the window's settings, the CSP on served files,
 * navigation/window/permission refusals, IPC answers, and port release on quit.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEVICE_CHANNELS } from '@emdad/domain';
import { parseContentSecurityPolicy } from './csp.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const electronDir = path.resolve(here, '..');

type Listener = (...args: unknown[]) => unknown;

function fakeElectron() {
  const log: string[] = [];
  const appListeners = new Map<string, Listener[]>();
  const ipcHandlers = new Map<string, Listener>();
  const windows: FakeWindow[] = [];
  const sent: [string, unknown][] = [];
  let ready!: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  let protocolHandler: ((request: { url: string }) => Promise<Response>) | null = null;
  const sessionHandlers: Record<string, Listener> = {};

  class FakeWindow {
    options: Record<string, unknown>;
    loaded: string | null = null;
    webContents = { send: (channel: string, payload: unknown) => sent.push([channel, payload]) };
    constructor(options: Record<string, unknown>) {
      this.options = options;
      windows.push(this);
      log.push('new BrowserWindow');
    }
    once() {}
    isDestroyed() {
      return false;
    }
    loadURL(url: string) {
      this.loaded = url;
      return Promise.resolve();
    }
    static getAllWindows() {
      return windows;
    }
  }

  const electron = {
    app: {
      enableSandbox: () => log.push('enableSandbox'),
      getAppPath: () => electronDir,
      requestSingleInstanceLock: () => true,
      whenReady: () => readyPromise,
      on: (event: string, listener: Listener) =>
        appListeners.set(event, [...(appListeners.get(event) ?? []), listener]),
      quit: () => log.push('quit'),
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown) =>
        log.push(`registerSchemesAsPrivileged ${JSON.stringify(schemes)}`),
      handle: (_scheme: string, handler: typeof protocolHandler) => (protocolHandler = handler),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (h: Listener) => (sessionHandlers.permissionRequest = h),
        setPermissionCheckHandler: (h: Listener) => (sessionHandlers.permissionCheck = h),
        setDevicePermissionHandler: (h: Listener) => (sessionHandlers.devicePermission = h),
        webRequest: { onHeadersReceived: (h: Listener) => (sessionHandlers.headers = h) },
      },
    },
    ipcMain: {
      handle: (channel: string, handler: Listener) => ipcHandlers.set(channel, handler),
      removeHandler: (channel: string) => ipcHandlers.delete(channel),
    },
    BrowserWindow: FakeWindow,
  };
  return {
    electron,
    log,
    appListeners,
    ipcHandlers,
    windows,
    sent,
    sessionHandlers,
    ready: () => ready(),
    serve: (url: string) => protocolHandler!({ url }),
  };
}

describe('Electron main process wiring (fake Electron API)', () => {
  const fake = fakeElectron();
  const savedEnv = { ...process.env };
  let dist: string;

  beforeAll(async () => {
    dist = mkdtempSync(path.join(tmpdir(), 'emdad-dist-'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>Emdad</title>');
    process.env.EMDAD_RENDERER_DIST = dist;
    process.env.EMDAD_SERVER_URL = 'http://192.0.2.7:8787';
    delete process.env.EMDAD_RENDERER_URL;
    const bundle = await build({
      entryPoints: [path.join(here, 'main.ts')],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      external: ['electron', 'serialport', '@serialport/*', 'node-hid', 'bufferutil', 'utf-8-validate'],
      write: false,
      logLevel: 'silent',
    });
    const realRequire = createRequire(path.join(electronDir, 'dist', 'main.cjs'));
    const module = { exports: {} };
    const run = new Function(
      'require',
      'module',
      'exports',
      '__filename',
      '__dirname',
      bundle.outputFiles[0]!.text,
    );
    run(
      (id: string) => (id === 'electron' ? fake.electron : realRequire(id)),
      module,
      module.exports,
      path.join(electronDir, 'dist', 'main.cjs'),
      path.join(electronDir, 'dist'),
    );
    // Everything before this line happened before 'ready'.
    fake.log.push('--- ready ---');
    fake.ready();
    await vi.waitFor(() => expect(fake.windows).toHaveLength(1), { timeout: 5000 });
  });

  afterAll(() => {
    process.env = savedEnv;
  });

  it('enables the sandbox and registers app:// as a secure standard scheme before ready', () => {
    const readyAt = fake.log.indexOf('--- ready ---');
    expect(fake.log.indexOf('enableSandbox')).toBeGreaterThanOrEqual(0);
    expect(fake.log.indexOf('enableSandbox')).toBeLessThan(readyAt);
    const registered = fake.log.findIndex((l) => l.startsWith('registerSchemesAsPrivileged'));
    expect(registered).toBeLessThan(readyAt);
    expect(fake.log[registered]).toContain('"scheme":"app"');
    expect(fake.log[registered]).toContain('"secure":true');
  });

  it('opens one isolated, sandboxed window on app://emdad with the bundled preload', () => {
    expect(fake.windows).toHaveLength(1);
    const window = fake.windows[0]!;
    expect(window.loaded).toBe('app://emdad/index.html');
    expect(window.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      preload: path.join(electronDir, 'dist', 'preload.cjs'),
      additionalArguments: ['--emdad-server-url=http://192.0.2.7:8787'],
    });
  });

  it('serves the renderer build with the CSP and refuses anything outside it', async () => {
    const response = await fake.serve('app://emdad/index.html');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = parseContentSecurityPolicy(response.headers.get('content-security-policy') ?? '');
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toContain('http://192.0.2.7:8787');
    expect(await response.text()).toContain('<title>Emdad</title>');
    expect((await fake.serve('app://emdad/missing.js')).status).toBe(404);
    expect((await fake.serve('app://emdad/..%2f..%2fetc%2fpasswd')).status).toBe(404);
    expect((await fake.serve('app://elsewhere/index.html')).status).toBe(404);
  });

  it('denies every permission the page asks for', () => {
    let granted: boolean | null = null;
    fake.sessionHandlers.permissionRequest!(null, 'media', (answer: boolean) => (granted = answer));
    expect(granted).toBe(false);
    expect(fake.sessionHandlers.permissionCheck!(null, 'serial')).toBe(false);
    expect(fake.sessionHandlers.devicePermission!({})).toBe(false);
  });

  it('refuses navigation away, redirects, window.open and webviews for every web contents', () => {
    const handlers = new Map<string, Listener>();
    let openHandler: Listener | null = null;
    const contents = {
      on: (event: string, h: Listener) => handlers.set(event, h),
      setWindowOpenHandler: (h: Listener) => (openHandler = h),
    };
    for (const listener of fake.appListeners.get('web-contents-created') ?? []) listener({}, contents);
    const attempt = (event: string, url: string) => {
      let prevented = false;
      handlers.get(event)!({ preventDefault: () => (prevented = true) }, url);
      return prevented;
    };
    expect(attempt('will-navigate', 'https://evil.example/')).toBe(true);
    expect(attempt('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(attempt('will-navigate', 'app://emdad/index.html#/cases')).toBe(false);
    expect(attempt('will-redirect', 'https://evil.example/')).toBe(true);
    expect(attempt('will-attach-webview', 'about:blank')).toBe(true);
    expect(openHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
  });

  it('answers the device API over IPC for the app frame only', async () => {
    expect([...fake.ipcHandlers.keys()].sort()).toEqual(Object.values(DEVICE_CHANNELS).sort());
    const ping = fake.ipcHandlers.get(DEVICE_CHANNELS.ping)!;
    expect(await ping({ senderFrame: { url: 'app://emdad/index.html#/' } }, { nonce: 'main' })).toMatchObject(
      { ok: true, value: { nonce: 'main' } },
    );
    expect(await ping({ senderFrame: { url: 'https://evil.example/' } }, { nonce: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const sessions = fake.ipcHandlers.get(DEVICE_CHANNELS.listSessions)!;
    expect(await sessions({ senderFrame: { url: 'app://emdad/index.html' } }, {})).toEqual({
      ok: true,
      value: [],
    });
  });

  it('releases the device service before quitting', async () => {
    let prevented = false;
    for (const listener of fake.appListeners.get('before-quit') ?? [])
      listener({ preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    await vi.waitFor(() => expect(fake.log).toContain('quit'), { timeout: 5000 });
  });
});
