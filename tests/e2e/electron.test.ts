/**
 * The real Electron app, driven by Playwright's `_electron` (playwright-core). Runs only where an
 * Electron binary exists: the npm package installs without it on these machines, and asking for
 * it (require('electron') from Node) would start a download, so this file only reads path.txt.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_API_VERSION } from '@emdad/domain';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function electronBinary(): string | null {
  const pkg = path.join(root, 'node_modules', 'electron');
  const pathFile = path.join(pkg, 'path.txt');
  if (!existsSync(pathFile) || !existsSync(path.join(pkg, 'dist'))) return null;
  const binary = path.join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

const binary = electronBinary();

if (!binary) {
  it.skip('Electron e2e skipped: no Electron binary here (node_modules/electron/path.txt or dist/ missing)', () => undefined);
}

describe.skipIf(!binary)('Electron field app', () => {
  let app: ElectronApplication;
  let page: Page;

  function build(workspace: string): void {
    const result = spawnSync('npm', ['run', 'build', '-w', workspace], { cwd: root, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`building ${workspace} failed:\n${result.stdout}\n${result.stderr}`);
  }

  beforeAll(async () => {
    if (!existsSync(path.join(root, 'renderer', 'dist', 'index.html'))) build('@emdad/renderer');
    build('@emdad/electron');
    app = await _electron.launch({
      executablePath: binary!,
      args: [path.join(root, 'electron')],
      env: { ...process.env, EMDAD_SERVER_URL: 'http://127.0.0.1:8799' } as Record<string, string>,
    });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });

  afterAll(async () => {
    await app?.close();
  });

  it('runs the renderer isolated: no Node, no require, only the two bridge objects', async () => {
    const globals = await page.evaluate(() => ({
      require: typeof (globalThis as { require?: unknown }).require,
      process: typeof (globalThis as { process?: unknown }).process,
      device: Object.keys((globalThis as { emdadDevice?: object }).emdadDevice ?? {}).sort(),
      config: (globalThis as { emdadConfig?: unknown }).emdadConfig,
    }));
    expect(globals).toEqual({ require: 'undefined', process: 'undefined', device: ['invoke', 'onEvent'], config: { serverUrl: 'http://127.0.0.1:8799' } });
  });

  it('loads the renderer from app://emdad with the CSP header', async () => {
    expect(page.url()).toMatch(/^app:\/\/emdad\/index\.html/);
    const csp = await page.evaluate(async () => (await fetch('app://emdad/index.html')).headers.get('content-security-policy'));
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain('http://127.0.0.1:8799');
  });

  it('answers version and ping over IPC, and refuses bad payloads', async () => {
    const answers = await page.evaluate(async () => {
      const device = (globalThis as unknown as { emdadDevice: { invoke(c: string, p: unknown): Promise<unknown> } }).emdadDevice;
      return {
        version: await device.invoke('device:version', {}),
        ping: await device.invoke('device:ping', { nonce: 'e2e' }),
        bad: await device.invoke('device:ping', { nonce: 7 }),
        unknown: await device.invoke('device:shell', {}),
      };
    });
    expect(answers.version).toMatchObject({ ok: true, value: { transport: 'ipc', apiVersion: DEVICE_API_VERSION } });
    expect(answers.ping).toMatchObject({ ok: true, value: { nonce: 'e2e' } });
    expect(answers.bad).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(answers.unknown).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('refuses window.open and navigation away from the app', async () => {
    const before = page.url();
    const opened = await page.evaluate(() => window.open('https://example.com') === null);
    expect(opened).toBe(true);
    await page.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    await page.waitForTimeout(500); // give a navigation the chance to (wrongly) happen
    expect(page.url()).toBe(before);
    expect(app.windows()).toHaveLength(1);
  });
});
