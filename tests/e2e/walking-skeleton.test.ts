/**
 * The walking skeleton, end to end in real Chromium against the real sync server (in-memory
 * PGlite, demo data, serving the built renderer as the central console):
 * sign in online → go offline → create a case → its tracking code is shown → reload offline (the
 * service worker serves the shell) → the case is still there and NOT marked synced → back online
 * → the server holds it (GET /api/cases/:id as a supervisor) and the row turns synced → a
 * supervisor's browser, already open, sees the case appear without a reload.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { createSyncServer, type SyncServer } from '@emdad/sync-server/server';
import { createDeviceService } from '@emdad/device-drivers/service/default-service';
import { startDeviceAgent } from '@emdad/electron/agent/device-agent';
import {
  API_ROUTES,
  PUSH_BATCH_MAX,
  formatTrackingCode,
  jalaliYearOf,
  newId,
  type AuthSession,
  type CaseDoc,
  type PushResponse,
} from '@emdad/domain';
import { BRANCH_IDS, MERCHANT_IDS, TEMPLATE_IDS } from '@emdad/fixtures';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PASSWORDS = {
  branch1: 'Emdad-branch1-1404',
  super1: 'Emdad-super1-1404',
  admin1: 'Emdad-admin1-1404',
} as const;

/** A bounded wait on a changing value (generous: the machine is shared). */
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 100 });

/**
 * A TCP relay in front of the server that can be cut, for a network loss Chromium cannot route
 * around: Playwright's setOffline does not stop requests a service worker passes through to the
 * network, so the branch browser talks to the server only through this relay, and "offline" is
 * both setOffline (navigator.onLine false) and the relay refusing every connection.
 */
class CuttableRelay {
  private readonly listener: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private up = true;

  constructor(private readonly targetPort: number) {
    this.listener = net.createServer((client) => {
      if (!this.up) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.listener.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.listener.address() as net.AddressInfo).port}`;
  }

  cut(): void {
    this.up = false;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }
}

let server: SyncServer;
let baseUrl: string;
let relay: CuttableRelay;
let relayUrl: string;
let browser: Browser;

beforeAll(async () => {
  const build = spawnSync('npm', ['run', 'build', '-w', '@emdad/renderer'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building the renderer failed:\n${build.stdout}\n${build.stderr}`);
  server = await createSyncServer({
    database: { kind: 'pglite' },
    seed: 'demo',
    rendererDist: path.join(root, 'renderer', 'dist'),
  });
  baseUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
  relay = new CuttableRelay(Number(new URL(baseUrl).port));
  relayUrl = await relay.listen();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await relay?.close();
  await server?.close();
});

async function signIn(page: Page, username: keyof typeof PASSWORDS, url = baseUrl): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(PASSWORDS[username]);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('case-list').waitFor();
}

async function apiToken(username: keyof typeof PASSWORDS): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      username,
      password: PASSWORDS[username],
      installId: `e2e-api-${username}-install`,
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

describe('walking skeleton: offline case intake syncs when the network returns', () => {
  let branch: BrowserContext;
  let supervisor: BrowserContext;

  afterAll(async () => {
    await branch?.close();
    await supervisor?.close();
  });

  it('creates a case offline, keeps it across an offline reload, syncs it online, and a supervisor sees it live', async () => {
    // The supervisor's console is open before the case exists.
    supervisor = await browser.newContext();
    const superPage = await supervisor.newPage();
    await signIn(superPage, 'super1');
    await poll(() => superPage.getByTestId('sync-status').getAttribute('data-online')).toBe('true');

    branch = await browser.newContext();
    const page = await branch.newPage();
    await signIn(page, 'branch1', relayUrl);
    // The offline shell must be installed and in control before the network goes away.
    const controlled = await page.evaluate(async () => {
      const inControl = (async () => {
        await navigator.serviceWorker.ready;
        if (!navigator.serviceWorker.controller) {
          await new Promise<void>((resolve) =>
            navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }),
          );
        }
        return true;
      })();
      return Promise.race([
        inControl,
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 30_000)),
      ]);
    });
    expect(controlled, 'the service worker controls the page').toBe(true);
    // Reference data (templates, merchants) has been cached for offline use.
    await page.getByTestId('nav-new-case').click();
    await poll(() => page.getByTestId('case-template').locator('option').count()).toBeGreaterThan(1);

    await branch.setOffline(true);
    relay.cut();
    await poll(() => page.getByTestId('sync-status').getAttribute('data-online')).toBe('false');

    // Validation speaks the user's language (Persian by default).
    await page.getByTestId('case-save').click();
    await poll(() => page.getByTestId('field-error').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('field-error').first().innerText()).toMatch(/[\u0600-\u06FF]/);

    await page.getByTestId('case-template').selectOption({ index: 1 });
    await page.getByTestId('case-merchant').selectOption({ index: 1 });
    await page.getByTestId('case-equipment').selectOption({ index: 1 });
    const subject = 'کارتخوان رسید چاپ نمی‌کند';
    await page.getByTestId('case-subject').fill(subject);
    await page.getByTestId('case-description').fill('کاغذ گیر می‌کند و دستگاه خطای چاپگر می‌دهد.');
    await page.getByTestId('case-reporter-name').fill('رضا محمدی');
    await page.getByTestId('case-reporter-phone').fill('۰۹۱۲ ۳۴۵ ۶۷۸۹');
    await page.getByTestId('case-save').click();

    const trackingCode = (await page.getByTestId('tracking-code').textContent())!.trim();
    expect(trackingCode).toMatch(/^[0-9A-Z]{3}-\d{4}-\d{6}-[0-9A-Z]$/);

    // Reload with no network: the service worker serves the app, RxDB still has the case.
    await page.reload();
    await page.getByTestId('nav-cases').click();
    const row = page.locator(`[data-testid="case-row"][data-tracking-code="${trackingCode}"]`);
    await row.waitFor();
    expect(await row.getByTestId('sync-badge').getAttribute('data-synced')).toBe('false');
    await poll(() => page.getByTestId('pending-count').getAttribute('data-count')).toBe('1');

    // The server has not seen it.
    const id = (await row.getAttribute('data-case-id'))!;
    const superToken = await apiToken('super1');
    const before = await fetch(`${baseUrl}/api/cases/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${superToken}` },
    });
    expect(before.status).toBe(404);

    // Back online: it is pushed, acknowledged, and the badge turns synced.
    relay.restore();
    await branch.setOffline(false);
    await row.locator('[data-testid="sync-badge"][data-synced="true"]').waitFor({ timeout: 60_000 });
    await poll(() => page.getByTestId('pending-count').getAttribute('data-count')).toBe('0');
    await poll(() => page.getByTestId('sync-status').getAttribute('data-online')).toBe('true');

    // The server holds it, as the supervisor sees through the API.
    const res = await fetch(`${baseUrl}/api/cases/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${superToken}` },
    });
    expect(res.status).toBe(200);
    const onServer = (await res.json()) as {
      trackingCode: string;
      subject: string;
      reporterPhone: string;
      acknowledgedUpdatedAt: string | null;
    };
    expect(onServer).toMatchObject({ trackingCode, subject, reporterPhone: '09123456789' });

    // The supervisor's already-open console shows it without a reload (live stream).
    const superRow = superPage.locator(`[data-testid="case-row"][data-tracking-code="${trackingCode}"]`);
    await superRow.waitFor({ timeout: 30_000 });
    expect(await superRow.getByTestId('sync-badge').getAttribute('data-synced')).toBe('true');

    // For the README: the case list in Persian. Written only when asked for, so a test run never
    // changes a tracked file (EMDAD_UPDATE_SCREENSHOT=1 npm run test:e2e refreshes it).
    if (process.env.EMDAD_UPDATE_SCREENSHOT === '1') {
      await page.setViewportSize({ width: 1280, height: 640 });
      await page.screenshot({ path: path.join(root, 'docs', 'screenshot.png') });
    }
  });
});

describe('field app basics in the browser', () => {
  it('switches Persian/English at runtime and signs in offline after one online sign-in', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await signIn(page, 'branch1', relayUrl);
      expect(
        await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]),
      ).toEqual(['fa', 'rtl']);
      await page.getByTestId('lang-switch').click();
      await poll(() =>
        page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]),
      ).toEqual(['en', 'ltr']);
      expect(await page.getByTestId('nav-cases').innerText()).toBe('Cases');

      // Sign out, lose the network, sign in again: the offline verifier opens the app.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByTestId('login-username').waitFor();
      await context.setOffline(true);
      relay.cut();
      await page.getByTestId('login-username').fill('branch1');
      await page.getByTestId('login-password').fill('not the password');
      await page.getByTestId('login-submit').click();
      await poll(() => page.getByTestId('login-error').innerText()).toContain(
        'username or password is wrong',
      );
      await page.getByTestId('login-username').fill('super1');
      await page.getByTestId('login-password').fill(PASSWORDS.super1);
      await page.getByTestId('login-submit').click();
      await poll(() => page.getByTestId('login-error').innerText()).toContain(
        'has not signed in on this device recently',
      );
      await page.getByTestId('login-username').fill('branch1');
      await page.getByTestId('login-password').fill(PASSWORDS.branch1);
      await page.getByTestId('login-submit').click();
      await page.getByTestId('case-list').waitFor();
      expect(await page.getByTestId('sync-status').getAttribute('data-online')).toBe('false');
      await poll(() => page.getByTestId('sync-error').innerText()).toContain('Signed in offline');
    } finally {
      relay.restore();
      await context.close();
    }
  });

  it('shows the local device agent in the device panel: connected, API version, ping', async () => {
    const { agent, close } = await startDeviceAgent(createDeviceService(), { allowedOrigins: [baseUrl] });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(
        `${baseUrl}/?agent=${encodeURIComponent(agent.url)}&agentToken=${encodeURIComponent(agent.token)}#/`,
      );
      // The token leaves the address bar at once (kept in sessionStorage for this tab).
      expect(page.url()).not.toContain('agentToken');
      await page.getByTestId('login-username').fill('tech1');
      await page.getByTestId('login-password').fill('Emdad-tech1-1404');
      await page.getByTestId('login-submit').click();
      await page.locator('[data-testid="device-status"][data-connected="true"]').waitFor({ timeout: 15_000 });
      await page.getByTestId('device-panel').getByRole('button').click();
      await page.getByTestId('device-roundtrip').waitFor();
      expect(await page.getByTestId('device-panel').innerText()).toMatch(/API|نسخه/);
    } finally {
      await context.close();
      await close();
    }
  });
});

describe('the device panel when the local agent restarts', () => {
  it('says, in Persian, to reopen the address npm start printed once the new agent refuses the old token, and stops retrying', async () => {
    const first = await startDeviceAgent(createDeviceService(), { allowedOrigins: [baseUrl] });
    const port = first.agent.port;
    let second: Awaited<ReturnType<typeof startDeviceAgent>> | undefined;
    let firstClosed = false;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(
        `${baseUrl}/?agent=${encodeURIComponent(first.agent.url)}&agentToken=${encodeURIComponent(first.agent.token)}#/`,
      );
      await page.getByTestId('login-username').fill('tech1');
      await page.getByTestId('login-password').fill('Emdad-tech1-1404');
      await page.getByTestId('login-submit').click();
      await page.locator('[data-testid="device-status"][data-connected="true"]').waitFor({ timeout: 15_000 });

      // Restart on the same port: a new token, so the page's upgrade is answered 401.
      await first.close();
      firstClosed = true;
      second = await startDeviceAgent(createDeviceService(), { allowedOrigins: [baseUrl], port });
      const status = page.getByTestId('device-status');
      await expect
        .poll(() => status.getAttribute('data-state'), { timeout: 30_000, interval: 100 })
        .toBe('refused');
      const error = page.getByTestId('device-error');
      expect(await error.innerText()).toContain('npm start');
      expect(await error.innerText()).toMatch(/[\u0600-\u06FF]/);
      expect(second.agent.connectionCount).toBe(0);

      // "Try again" with the stale token is refused again: still no connection, the sentence stays.
      await page.getByTestId('device-retry').click();
      await expect
        .poll(() => status.getAttribute('data-state'), { timeout: 30_000, interval: 100 })
        .toBe('refused');
      expect(second.agent.connectionCount).toBe(0);
    } finally {
      await context.close();
      if (!firstClosed) await first.close();
      await second?.close();
    }
  });
});

describe('the case list with thousands of cases', () => {
  it('renders only the rows in view, newest first, with the total, and scrolls to the end by keyboard', async () => {
    const SEEDED = 2_000;
    // Seed through the server's own push endpoint, as an admin (who pulls every case).
    const res = await fetch(`${baseUrl}${API_ROUTES.login}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin1', password: PASSWORDS.admin1, installId: newId() }),
    });
    expect(res.status).toBe(200);
    const admin = (await res.json()) as AuthSession;
    const startedAt = Date.now() - SEEDED * 1000;
    const trackingCodeOf = (seq: number) =>
      formatTrackingCode(admin.install.trackingPrefix, jalaliYearOf(new Date()), seq);
    for (let first = 1; first <= SEEDED; first += PUSH_BATCH_MAX) {
      const rows = Array.from({ length: Math.min(PUSH_BATCH_MAX, SEEDED - first + 1) }, (_, i) => {
        const seq = first + i;
        const at = new Date(startedAt + seq * 1000).toISOString();
        const doc: CaseDoc = {
          id: newId(),
          trackingCode: trackingCodeOf(seq),
          templateId: TEMPLATE_IDS.posNoPrint,
          channel: 'walk_in',
          status: 'new',
          priority: 'normal',
          merchantId: MERCHANT_IDS.tehranSupermarket,
          equipmentId: null,
          branchId: BRANCH_IDS.tehranVanak,
          subject: `کارتخوان چاپ نمی‌کند ${seq}`,
          description: 'کاغذ در چاپگر گیر کرده است.',
          reporterName: 'رضا احمدی',
          reporterPhone: '09121234567',
          createdBy: admin.user.id,
          assigneeId: null,
          createdAt: at,
          updatedAt: at,
        };
        return { newDocumentState: { ...doc, _deleted: false }, assumedMasterState: null };
      });
      const push = await fetch(`${baseUrl}${API_ROUTES.replicationPush.replace(':collection', 'cases')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.accessToken}` },
        body: JSON.stringify(rows),
      });
      const body = (await push.json()) as PushResponse<CaseDoc>;
      expect(push.status).toBe(200);
      expect([body.conflicts.length, body.refused.length]).toEqual([0, 0]);
    }

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${baseUrl}/`);
      await page.getByTestId('login-username').fill('admin1');
      await page.getByTestId('login-password').fill(PASSWORDS.admin1);
      await page.getByTestId('login-submit').click();
      const count = page.getByTestId('case-count');
      await expect
        .poll(async () => Number(await count.getAttribute('data-count')), { timeout: 60_000, interval: 200 })
        .toBeGreaterThanOrEqual(SEEDED);

      // Newest first: the last seeded case is the first row; only a window of rows is in the DOM.
      const rows = page.getByTestId('case-row');
      await poll(() => rows.first().getAttribute('data-tracking-code')).toBe(trackingCodeOf(SEEDED));
      expect(await rows.first().getAttribute('aria-rowindex')).toBe('2');
      expect(await rows.count()).toBeLessThan(100);
      // Rows are one fixed-height line: the virtualiser's scroll height is exact.
      expect(await rows.nth(1).evaluate((row) => row.getBoundingClientRect().height)).toBeCloseTo(48, 0);
      expect(await rows.first().getByTestId('sync-badge').getAttribute('data-synced')).toBe('true');

      // The keyboard scrolls the list (the scroll box takes focus): End reaches the last row.
      // (Pressed again while the pull may still be adding cases below.) The table announces every
      // case, header row included, whatever is rendered.
      const table = page.getByTestId('case-list');
      await poll(async () => {
        await page.getByTestId('case-scroll').focus();
        await page.keyboard.press('End');
        const [rowCount, shown, lastIndex] = await Promise.all([
          table.getAttribute('aria-rowcount'),
          count.getAttribute('data-count'),
          rows.last().getAttribute('aria-rowindex'),
        ]);
        return rowCount === String(Number(shown) + 1) && lastIndex === rowCount;
      }).toBe(true);
      expect(await rows.count()).toBeLessThan(100);
      await page.keyboard.press('Home');
      await poll(() => rows.first().getAttribute('data-tracking-code')).toBe(trackingCodeOf(SEEDED));
    } finally {
      await context.close();
    }
  });
});
