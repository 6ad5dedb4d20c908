/**
 * The field app's two shells, end to end:
 * - the real Electron app, driven by Playwright's `_electron` (playwright-core). Runs only where an
 *   Electron binary exists: the npm package installs without it on these machines, and asking for
 *   it (require('electron') from Node) would start a download, so this file only reads path.txt;
 * - `npm start` in browser mode (as on a machine without the binary): its one printed URL opened in
 *   real Chromium reaches the device service through the authenticated local agent; Ctrl-C (SIGTERM)
 *   stops every child and exits 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { CHROMIUM_PATH, launchChromium } from '../support/chromium.ts';
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
// Electron on Linux needs a display server (run under xvfb-run in CI) and, as root, --no-sandbox.
const hasDisplay =
  process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const skipReason = !binary
  ? 'no Electron binary here (node_modules/electron/path.txt or dist/ missing)'
  : !hasDisplay
    ? 'no display (set DISPLAY, e.g. run under xvfb-run)'
    : null;

if (skipReason) {
  it.skip(`Electron e2e skipped: ${skipReason}`, () => undefined);
}

describe.skipIf(skipReason !== null)('Electron field app', () => {
  let app: ElectronApplication;
  let page: Page;

  function build(workspace: string): void {
    const result = spawnSync('npm', ['run', 'build', '-w', workspace], { cwd: root, encoding: 'utf8' });
    if (result.status !== 0)
      throw new Error(`building ${workspace} failed:\n${result.stdout}\n${result.stderr}`);
  }

  beforeAll(async () => {
    if (!existsSync(path.join(root, 'renderer', 'dist', 'index.html'))) build('@emdad/renderer');
    build('@emdad/electron');
    app = await _electron.launch({
      executablePath: binary!,
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), path.join(root, 'electron')],
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
    expect(globals).toEqual({
      require: 'undefined',
      process: 'undefined',
      device: ['invoke', 'onEvent'],
      config: { serverUrl: 'http://127.0.0.1:8799' },
    });
  });

  it('loads the renderer from app://emdad with the CSP header', async () => {
    expect(page.url()).toMatch(/^app:\/\/emdad\/index\.html/);
    const csp = await page.evaluate(async () =>
      (await fetch('app://emdad/index.html')).headers.get('content-security-policy'),
    );
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain('http://127.0.0.1:8799');
  });

  it('answers version and ping over IPC, and refuses bad payloads', async () => {
    const answers = await page.evaluate(async () => {
      const device = (
        globalThis as unknown as { emdadDevice: { invoke(c: string, p: unknown): Promise<unknown> } }
      ).emdadDevice;
      return {
        version: await device.invoke('device:version', {}),
        ping: await device.invoke('device:ping', { nonce: 'e2e' }),
        bad: await device.invoke('device:ping', { nonce: 7 }),
        unknown: await device.invoke('device:shell', {}),
      };
    });
    expect(answers.version).toMatchObject({
      ok: true,
      value: { transport: 'ipc', apiVersion: DEVICE_API_VERSION },
    });
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

describe.skipIf(!existsSync(CHROMIUM_PATH))('npm start in browser mode', () => {
  let start: ChildProcess;
  const output: string[] = [];
  let port = 0;
  let simLink = '';
  let home = '';

  beforeAll(async () => {
    port = await freePort();
    home = mkdtempSync(path.join(tmpdir(), 'emdad-start-e2e-'));
    simLink = path.join(home, 'ttyPINPAD');
    start = spawn(process.execPath, ['scripts/start.mjs'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        XDG_DATA_HOME: home,
        EMDAD_SIM_LINK: simLink,
        EMDAD_NO_ELECTRON: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: start.stderr! }).on('line', (line) => output.push(line));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: start.stdout! }).on('line', (line) => {
        output.push(line);
        if (line.startsWith('Electron is not installed here')) resolve();
      });
      start.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output.join('\n')}`)));
    });
  });

  afterAll(async () => {
    if (start && start.exitCode === null) {
      const exited = new Promise((resolve) => start.once('exit', resolve));
      start.kill('SIGTERM');
      await exited;
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('prints one browser URL whose page reaches the device service, then stops cleanly', async () => {
    const line = output.find((l) => l.startsWith('Electron is not installed here'))!;
    expect(line).toMatch(
      /^Electron is not installed here \(no binary\), open http:\/\/127\.0\.0\.1:\d+\/#\/\?agent=.+&agentToken=.+ in a browser$/,
    );
    expect(output.filter((l) => l.startsWith('Electron is not installed here'))).toHaveLength(1);
    expect(
      output.some(
        (l) => l.includes(`PinPad simulator ABECS on ${simLink}`) || l.includes('socat is not installed'),
      ),
    ).toBe(true);
    const url = /open (\S+) in a browser/.exec(line)![1]!;
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(url);
      // The token leaves the address bar at once (kept in this tab's sessionStorage only).
      await page.waitForFunction(() => !location.href.includes('agentToken'));
      await page.getByTestId('login-username').fill('tech1');
      await page.getByTestId('login-password').fill('Emdad-tech1-1404');
      await page.getByTestId('login-submit').click();
      await page.locator('[data-testid="device-status"][data-connected="true"]').waitFor({ timeout: 30_000 });
      await page.locator('[data-testid="device-panel"] button').click();
      await page.getByTestId('device-roundtrip').waitFor();
    } finally {
      await browser.close();
    }

    const exited = new Promise<number | null>((resolve) => start.once('exit', (code) => resolve(code)));
    start.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect(existsSync(simLink)).toBe(false);
  });
});
