/**
 * Public case tracking end to end in real Chromium against the real sync server (in-memory PGlite,
 * demo data): a branch files a case and the team closes it (through the HTTP API, as devices do);
 * the merchant opens /track with no sign-in, mistypes the code (caught on the page), gives a wrong
 * phone (told what to check), then sees the status and public timeline in Persian, answers the
 * survey with a low score and switches to English. The server then holds exactly one call-back task
 * for the team's manager (read back as the supervisor through replication).
 */
import {
  API_ROUTES,
  formatTrackingCode,
  jalaliYearOf,
  newId,
  TRACKING_ALPHABET,
  type AuthSession,
  type CaseDoc,
  type PullResponse,
  type PushResponse,
  type WireDoc,
} from '@emdad/domain';
import { CALLBACK_TEMPLATE_ID } from '@emdad/domain/workflow/survey-callback';
import { BRANCH_IDS, MERCHANT_IDS, TEMPLATE_IDS, USER_IDS, demoUser } from '@emdad/fixtures';
import { createSyncServer, type SyncServer } from '@emdad/sync-server/server';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';

/** A bounded wait on a changing value (generous: the machine is shared). */
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 100 });

let server: SyncServer;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  server = await createSyncServer({ database: { kind: 'pglite' }, seed: 'demo', rendererDist: false });
  baseUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function signIn(username: string): Promise<AuthSession> {
  const res = await fetch(`${baseUrl}${API_ROUTES.login}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      username,
      password: demoUser(username).password,
      installId: `e2e-track-${username}-install`,
    }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as AuthSession;
}

async function pushCase(session: AuthSession, doc: WireDoc<CaseDoc>, master: WireDoc<CaseDoc> | null) {
  const res = await fetch(`${baseUrl}/api/replication/cases/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` },
    body: JSON.stringify([{ newDocumentState: doc, assumedMasterState: master }]),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as PushResponse<CaseDoc>;
  expect(body).toMatchObject({ conflicts: [], refused: [] });
}

async function pullCases(session: AuthSession): Promise<WireDoc<CaseDoc>[]> {
  const documents: WireDoc<CaseDoc>[] = [];
  let query = 'limit=1000';
  for (let page = 0; page < 100; page++) {
    const res = await fetch(`${baseUrl}/api/replication/cases/pull?${query}`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    });
    const body = (await res.json()) as PullResponse<CaseDoc>;
    documents.push(...body.documents);
    if (body.documents.length < 1000) return documents;
    query = `limit=1000&serverUpdatedAt=${body.checkpoint!.serverUpdatedAt}&id=${body.checkpoint!.id}`;
  }
  throw new Error('pull did not end');
}

describe('public tracking: a merchant follows a case and rates it', () => {
  let merchant: BrowserContext;

  afterAll(async () => {
    await merchant?.close();
  });

  it('shows the status and timeline for the code and phone digits, takes a low score, and the manager gets one call-back task', async () => {
    // The branch files the case; the team resolves and closes it (each status change one push).
    const branch = await signIn('branch1');
    const admin = await signIn('admin1');
    const super1 = await signIn('super1');
    const at = new Date(Date.now() - 3 * 60 * 60_000);
    let current: WireDoc<CaseDoc> = {
      id: newId(),
      trackingCode: formatTrackingCode(branch.install.trackingPrefix, jalaliYearOf(at), 7),
      templateId: TEMPLATE_IDS.posNoPrint,
      channel: 'walk_in',
      status: 'new',
      priority: 'high',
      merchantId: MERCHANT_IDS.tehranSupermarket,
      equipmentId: null,
      branchId: BRANCH_IDS.tehranVanak,
      subject: 'کارت‌خوان رسید چاپ نمی‌کند',
      description: 'Internal note: printer head worn out',
      reporterName: 'رضا محمدی',
      reporterPhone: '09123456789',
      createdBy: USER_IDS.branch1,
      assigneeId: USER_IDS.tech1,
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
      _deleted: false,
    };
    await pushCase(branch, current, null);
    for (const [minutes, status] of [
      [60, 'resolved'],
      [120, 'closed'],
    ] as const) {
      const next = { ...current, status, updatedAt: new Date(at.getTime() + minutes * 60_000).toISOString() };
      const stored = (await pullCases(admin)).find((c) => c.id === current.id)!;
      await pushCase(admin, next, stored);
      current = next;
    }
    const code = current.trackingCode;
    const last = code.at(-1)!;
    const typo = `${code.slice(0, -1)}${TRACKING_ALPHABET[(TRACKING_ALPHABET.indexOf(last) + 1) % 31]}`;

    merchant = await browser.newContext();
    const page = await merchant.newPage();
    // No CSP violation and no script error (a 404 answer to the wrong phone is logged by Chromium: expected).
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text()))
        violations.push(message.text());
    });
    page.on('pageerror', (error) => violations.push(error.message));
    const apiCalls: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/')) apiCalls.push(request.url());
    });
    await page.goto(`${baseUrl}/track`);
    await poll(() => page.locator('body').getAttribute('data-ready')).toBe('true');
    expect(await page.locator('html').getAttribute('dir')).toBe('rtl');
    expect(await page.locator('html').getAttribute('lang')).toBe('fa');

    // A mistyped check character is caught on the page, before any request.
    await page.getByTestId('track-code').fill(typo);
    await page.getByTestId('track-phone').fill('۶۷۸۹');
    await page.getByTestId('track-submit').click();
    await poll(() => page.getByTestId('track-error').getAttribute('data-reason')).toBe('code_typo');
    expect(await page.getByTestId('track-error').innerText()).toMatch(/[\u0600-\u06FF]/);
    expect(apiCalls).toEqual([]);

    // A wrong phone: one sentence that says what to check (the same as for an unknown code).
    await page.getByTestId('track-code').fill(code.toLowerCase().replace(/-/g, ''));
    await page.getByTestId('track-phone').fill('1234');
    await page.getByTestId('track-submit').click();
    await poll(() => page.getByTestId('track-error').getAttribute('data-reason')).toBe('not_found');
    expect(await page.getByTestId('track-error').innerText()).toContain('رسید');

    // The right digits, typed in Persian.
    await page.getByTestId('track-phone').fill('۶۷۸۹');
    await page.getByTestId('track-submit').click();
    await poll(() => page.getByTestId('track-status').getAttribute('data-status')).toBe('closed');
    expect(await page.getByTestId('track-error').isHidden()).toBe(true);
    expect(await page.getByTestId('track-status').innerText()).toBe('بسته شد');
    expect(await page.getByTestId('track-timeline-entry').count()).toBeGreaterThanOrEqual(1);
    const pageText = await page.locator('main').innerText();
    for (const secret of ['Internal note', current.reporterName, current.id, USER_IDS.tech1])
      expect(pageText).not.toContain(secret);

    // The survey: a low score with a comment.
    await page.getByTestId('track-survey').waitFor();
    await page.getByTestId('survey-score-1').check();
    await page.getByTestId('survey-comment').fill('سه روز طول کشید');
    await page.getByTestId('survey-submit').click();
    await page.getByTestId('survey-thanks').waitFor();
    expect(await page.getByTestId('survey-thanks').innerText()).toContain('تماس');

    // English on the switch: direction, status and the thank-you sentence follow.
    await page.getByTestId('track-lang').click();
    await poll(() => page.locator('html').getAttribute('dir')).toBe('ltr');
    expect(await page.getByTestId('track-status').innerText()).toBe('Closed');
    expect(await page.getByTestId('survey-thanks').innerText()).toContain('call you back');
    expect(violations).toEqual([]);

    // The server: exactly one call-back task, for the manager of the team that handled the case.
    const tasks = (await pullCases(super1)).filter(
      (c) => c.templateId === CALLBACK_TEMPLATE_ID && c.subject.includes(code),
    );
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ assigneeId: USER_IDS.super1, priority: 'urgent', status: 'new' });
    expect(tasks[0]!.description).toContain('سه روز طول کشید');
  });
});
