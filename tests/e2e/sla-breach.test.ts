/**
 * Issue 5's end-to-end scenario in real Chromium against the real sync server with the case engine
 * (in-memory PGlite, demo data, the built renderer): a walk-in case is created offline in the field
 * app, which shows a provisional due time computed on the device and warns when the same device and
 * template are chosen again → it syncs → the server's due times equal the provisional ones and replace
 * them in the list → the server routes it (assignee) and gives it its SLA, which the case list shows →
 * the server's clock moves past the resolution due time and the engine's timer runs → the case
 * breaches and escalates (priority raised, moved to L2) → the supervisor is notified (their
 * notifications, pulled through the replication API) → the list in the browser shows it overdue.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBusinessTime, nextBusinessInstant } from '@emdad/domain/sla/calendar';
import type { CaseDoc } from '@emdad/domain';
import { EQUIPMENT_IDS, MERCHANT_IDS, TEMPLATE_IDS, USER_IDS } from '@emdad/fixtures';
import { businessCalendars } from '@emdad/fixtures/sla';
import { createSyncServer, type SyncServer } from '@emdad/sync-server/server';
import { launchChromium } from '../support/chromium.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PASSWORDS = { branch1: 'Emdad-branch1-1404', super1: 'Emdad-super1-1404', admin1: 'Emdad-admin1-1404' };
const poll = <T>(read: () => Promise<T>, timeout = 30_000) => expect.poll(read, { timeout, interval: 100 });

/** A relay in front of the server that can be cut: a network loss the service worker cannot route around. */
class CuttableRelay {
  private readonly listener: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private up = true;
  constructor(targetPort: number) {
    this.listener = net.createServer((client) => {
      if (!this.up) return void client.destroy();
      const upstream = net.connect(targetPort, '127.0.0.1');
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

// The server's clock: the real one plus an offset the test moves forward (the browser keeps real time).
let offsetMs = 0;
const serverNow = () => Date.now() + offsetMs;

let server: SyncServer;
let baseUrl: string;
let relay: CuttableRelay;
let relayUrl: string;
let browser: Browser;
let branch: BrowserContext | undefined;

beforeAll(async () => {
  const build = spawnSync('npm', ['run', 'build', '-w', '@emdad/renderer'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building the renderer failed:\n${build.stdout}\n${build.stderr}`);
  server = await createSyncServer({
    database: { kind: 'pglite' },
    seed: 'demo',
    now: serverNow,
    rendererDist: path.join(root, 'renderer', 'dist'),
    // The timer is driven by the test (tick); tokens outlive the days the clock moves.
    engine: { slaTickMs: false },
    accessTokenTtlSeconds: 30 * 24 * 3600,
  });
  baseUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
  relay = new CuttableRelay(Number(new URL(baseUrl).port));
  relayUrl = await relay.listen();
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await branch?.close();
  await browser?.close();
  await relay?.close();
  await server?.close();
});

async function api<T>(username: keyof typeof PASSWORDS, route: string): Promise<T> {
  const login = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORDS[username], installId: `e2e-sla-${username}` }),
  });
  expect(login.status).toBe(200);
  const { accessToken } = (await login.json()) as { accessToken: string };
  const res = await fetch(`${baseUrl}${route}`, { headers: { authorization: `Bearer ${accessToken}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

const caseOnServer = (id: string) => api<CaseDoc>('admin1', `/api/cases/${encodeURIComponent(id)}`);

describe('SLA breach end to end', () => {
  it('routes an offline walk-in case, gives it an SLA, breaches, escalates and notifies the supervisor', async () => {
    branch = await browser.newContext();
    const page = await branch.newPage();
    await page.goto(`${relayUrl}/`);
    await page.getByTestId('login-username').fill('branch1');
    await page.getByTestId('login-password').fill(PASSWORDS.branch1);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('case-list').waitFor();
    const controlled = await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller)
        await new Promise<void>((resolve) =>
          navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }),
        );
      return true;
    });
    expect(controlled).toBe(true);
    await page.getByTestId('nav-new-case').click();
    await poll(() => page.getByTestId('case-template').locator('option').count()).toBeGreaterThan(1);

    // The device has synced everything once (calendars and holidays included: the provisional SLA
    // needs them); only then does the status bar show a last sync.
    await poll(() => page.getByTestId('last-sync').getAttribute('data-at')).toMatch(/^\d{4}-/);

    // Offline: the walk-in is logged on the device only.
    await branch.setOffline(true);
    relay.cut();
    await poll(() => page.getByTestId('sync-status').getAttribute('data-online')).toBe('false');
    await page.getByTestId('case-template').selectOption(TEMPLATE_IDS.posNoPrint);
    await page.getByTestId('case-channel').selectOption('walk_in');
    await page.getByTestId('case-priority').selectOption('high');
    await page.getByTestId('case-merchant').selectOption(MERCHANT_IDS.tehranSupermarket);
    await page.getByTestId('case-equipment').selectOption(EQUIPMENT_IDS.paxS90);
    await page.getByTestId('case-subject').fill('کارت‌خوان رسید چاپ نمی‌کند');
    await page.getByTestId('case-description').fill('مشتری حضوری آمده است؛ چاپگر کاغذ را نمی‌کشد.');
    await page.getByTestId('case-reporter-name').fill('رضا محمدی');
    await page.getByTestId('case-reporter-phone').fill('09123456789');
    await page.getByTestId('case-save').click();
    const trackingCode = (await page.getByTestId('tracking-code').textContent())!.trim();
    // Still offline: a provisional due time, computed on the device with the server's code.
    const createdSla = page.getByTestId('created-sla');
    await poll(() => createdSla.getAttribute('data-provisional')).toBe('true');
    const provisionalFirstResponse = await createdSla.getAttribute('data-first-response-due-at');
    const provisionalResolution = await createdSla.getAttribute('data-resolution-due-at');
    expect(provisionalFirstResponse).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(provisionalResolution).toMatch(/^\d{4}-\d\d-\d\dT/);

    // The same device and template again: the form warns of the open case before saving.
    await page.getByTestId('nav-new-case').click();
    await page.getByTestId('case-template').selectOption(TEMPLATE_IDS.posNoPrint);
    await page.getByTestId('case-merchant').selectOption(MERCHANT_IDS.tehranSupermarket);
    await page.getByTestId('case-equipment').selectOption(EQUIPMENT_IDS.paxS90);
    await poll(() => page.getByTestId('duplicate-warning').innerText()).toContain(trackingCode);

    await page.getByTestId('nav-cases').click();
    const row = page.locator(`[data-testid="case-row"][data-tracking-code="${trackingCode}"]`);
    await row.waitFor();
    const badge = row.getByTestId('sla-badge');
    expect(await badge.getAttribute('data-provisional')).toBe('true');
    expect(await badge.getAttribute('data-sla-state')).not.toBe('none');
    const id = (await row.getAttribute('data-case-id'))!;

    // Online: it syncs; the server routes it and gives it its SLA; the list shows the SLA.
    relay.restore();
    await branch.setOffline(false);
    await row.locator('[data-testid="sync-badge"][data-synced="true"]').waitFor({ timeout: 60_000 });
    const routed = await caseOnServer(id);
    expect(routed).toMatchObject({
      assigneeId: USER_IDS.tech1,
      teamId: 'team-field-ops',
      supportTier: 'L1',
      sla: { calendarId: 'cal-tehran' },
    });
    expect(['on_track', 'warning', 'breached']).toContain(routed.sla?.state);
    // The device counted as the server does (same code, same replicated calendars and targets).
    expect(routed.sla).toMatchObject({
      firstResponseDueAt: provisionalFirstResponse,
      resolutionDueAt: provisionalResolution,
    });
    await poll(() => badge.getAttribute('data-provisional')).toBeNull();
    await poll(() => badge.getAttribute('data-sla-state')).toBe(routed.sla!.state);

    // The server's clock moves past the resolution due time, into working hours, and the timer runs.
    const tehran = businessCalendars().find((c) => c.id === 'cal-tehran')!;
    let later = Date.parse(routed.sla!.resolutionDueAt!) + 60 * 60_000;
    if (!isBusinessTime(tehran, later)) later = nextBusinessInstant(tehran, later).getTime() + 5 * 60_000;
    offsetMs = later - Date.now();
    const tick = await server.engine.tick();
    expect(tick.acted).toBe(true);

    const escalated = await caseOnServer(id);
    expect(escalated).toMatchObject({
      priority: 'urgent',
      supportTier: 'L2',
      teamId: 'team-central-support',
      sla: { state: 'breached' },
    });

    // The supervisor is notified (during their working hours: at once), through replication.
    const notifications = await api<{ documents: { kind: string; link: string | null; userId: string }[] }>(
      'super1',
      '/api/replication/notifications/pull?limit=1000',
    );
    const aboutCase = notifications.documents.filter((n) => n.link === `/cases/${id}`);
    expect(aboutCase.map((n) => n.kind)).toContain('sla_breach');
    expect(aboutCase.every((n) => n.userId === USER_IDS.super1)).toBe(true);

    // The field app shows the breach live (stream → RxDB → list row).
    await poll(() => row.getByTestId('sla-badge').getAttribute('data-sla-state'), 60_000).toBe('breached');
  }, 240_000);
});
