/**
 * Electron main process. Kept thin (DEVELOPERS.md): every rule it applies lives in a pure, tested
 * module — window-policy.ts (web preferences, navigation, IPC sender), csp.ts, handlers.ts, ipc.ts.
 * Bundled to dist/main.cjs by ../build.mjs; `electron electron/` starts it (package.json "main").
 *
 * Environment: EMDAD_SERVER_URL (sync server, default http://127.0.0.1:8787), EMDAD_RENDERER_URL
 * (dev: load the renderer from a Vite server instead of app://emdad), EMDAD_RENDERER_DIST (the
 * built renderer served on app://emdad; default ../renderer/dist),
 * EMDAD_DEVICE_PATHS (ports the OS listing never shows, e.g. a simulator's pty link).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { app, BrowserWindow, ipcMain, protocol, session } from 'electron';
import { DEVICE_EVENT_CHANNEL, type DeviceEvent } from '@emdad/domain/device-api';
import { createDeviceService } from '@emdad/device-drivers/service/default-service';
import {
  APP_ENTRY_URL,
  APP_SCHEME,
  APP_SCHEME_PRIVILEGES,
  appResponseHeaders,
  resolveAppFile,
} from './app-protocol.ts';
import { serverUrlFrom } from './config.ts';
import { createDeviceServiceBackend, devicePathsFrom } from './device-backend.ts';
import { buildContentSecurityPolicy } from './csp.ts';
import { createDeviceHandlerMap } from './handlers.ts';
import { registerDeviceIpc } from './ipc.ts';
import { isAllowedNavigation, isTrustedIpcSender, secureWebPreferences } from './window-policy.ts';

const serverUrl = serverUrlFrom(process.env);
const contentSecurityPolicy = buildContentSecurityPolicy({
  serverUrl,
  devServerUrl: process.env.EMDAD_RENDERER_URL?.trim() || null,
});

/** The built renderer (renderer/dist beside this electron/ folder, or EMDAD_RENDERER_DIST). */
function rendererDist(): string {
  // app.getAppPath() is the electron/ folder (where package.json "main" points from).
  return process.env.EMDAD_RENDERER_DIST ?? path.resolve(app.getAppPath(), '..', 'renderer', 'dist');
}

function appEntryUrl(): string {
  const devUrl = process.env.EMDAD_RENDERER_URL?.trim();
  return devUrl ? new URL(devUrl).href : APP_ENTRY_URL;
}

/** Serves renderer/dist on app://emdad with the CSP on every response (see app-protocol.ts). */
function serveRenderer(): void {
  const dist = rendererDist();
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(dist, request.url);
    if (!file) return new Response('Not found', { status: 404 });
    try {
      if (!(await stat(file)).isFile()) return new Response('Not found', { status: 404 });
      return new Response(await readFile(file), {
        status: 200,
        headers: appResponseHeaders(file, contentSecurityPolicy),
      });
    } catch {
      return new Response('Not found', { status: 404 });
    }
  });
}

function hardenSession(): void {
  const ses = session.defaultSession;
  // The field app needs no camera, microphone, notifications, geolocation or Web Serial from the
  // page: devices are reached through the main process only.
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [contentSecurityPolicy],
        'X-Content-Type-Options': ['nosniff'],
      },
    });
  });
}

function createWindow(entryUrl: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Emdad Field',
    webPreferences: secureWebPreferences(path.join(app.getAppPath(), 'dist', 'preload.cjs'), serverUrl),
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(entryUrl);
  return window;
}

function sendEventToWindows(event: DeviceEvent): void {
  for (const window of BrowserWindow.getAllWindows()) {
    if (!window.isDestroyed()) window.webContents.send(DEVICE_EVENT_CHANNEL, event);
  }
}

// Every renderer, including any created later, is sandboxed.
app.enableSandbox();
// Must happen before 'ready': app:// gets a secure, standard origin (storage, fetch, modules).
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }]);

app.on('web-contents-created', (_event, contents) => {
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url, appEntryUrl())) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAllowedNavigation(url, appEntryUrl())) event.preventDefault();
  });
});

if (!app.requestSingleInstanceLock()) {
  // A second copy would fight the first over the serial ports.
  app.quit();
} else {
  app.on('second-instance', () => {
    const [window] = BrowserWindow.getAllWindows();
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
  });

  void app.whenReady().then(() => {
    const entryUrl = appEntryUrl();
    hardenSession();
    serveRenderer();
    const service = createDeviceService();
    for (const devicePath of devicePathsFrom(process.env.EMDAD_DEVICE_PATHS, path.delimiter))
      service.addPath(devicePath);
    // Plugging a PinPad in or pulling it out shows up in the device list without a refresh.
    void service.startWatching().catch(() => undefined);
    const backend = createDeviceServiceBackend(service);
    const handlers = createDeviceHandlerMap({ backend, transport: 'ipc' });
    registerDeviceIpc(ipcMain, handlers, (frameUrl) => isTrustedIpcSender(frameUrl, entryUrl));
    backend.subscribe?.(sendEventToWindows);
    // Release the serial ports before quitting (a PinPad left mid-command needs a power cycle).
    let released = false;
    app.on('before-quit', (event) => {
      if (released) return;
      event.preventDefault();
      released = true;
      const timeout = new Promise((resolve) => setTimeout(resolve, 5000));
      void Promise.race([service.shutdown(), timeout]).finally(() => app.quit());
    });
    createWindow(entryUrl);
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow(entryUrl);
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
