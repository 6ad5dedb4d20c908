/**
 * Attachments in real Chromium (real IndexedDB, crypto.subtle, File and Blob) against the real sync
 * server: device A attaches a receipt photo to an expense while offline; the bytes stay on the
 * device across a reload; back online, the first upload reaches the server but its answer is lost,
 * the retry is stored once, and the expense syncs after its bytes. Device B (another browser
 * profile of the same user) pulls the expense and opens the same bytes. The page is the renderer's
 * own code (tests/e2e/attachments-page), built with Vite and served by the sync server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES, newId, type AuthSession } from '@emdad/domain';
import { demoUser } from '@emdad/fixtures';
import { createSyncServer, type SyncServer } from '@emdad/sync-server/server';
import { launchChromium } from '../support/chromium.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 100 });

async function login(url: string, username: string): Promise<AuthSession> {
  const res = await fetch(url + API_ROUTES.login, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: demoUser(username).password, installId: newId() }),
  });
  if (!res.ok) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  return (await res.json()) as AuthSession;
}

describe('attachments in Chromium', () => {
  let server: SyncServer;
  let url: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const pageDir = mkdtempSync(path.join(tmpdir(), 'emdad-att-page-'));
    await build({
      root: path.join(here, 'attachments-page'),
      logLevel: 'warn',
      build: { outDir: pageDir, emptyOutDir: true, target: 'es2022', minify: false },
    });
    server = await createSyncServer({
      database: { kind: 'pglite' },
      seed: 'demo',
      rendererDist: pageDir,
      loginDelayCapMs: 0,
    });
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
  });

  async function openPage(context: BrowserContext, session: AuthSession): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning')
        console.log(`[page ${msg.type()}] ${msg.text()}`);
    });
    await page.goto(url + '/');
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
    await page.evaluate((s) => window.emdadAttachments.open(s), session);
    return page;
  }

  it('attach offline, keep across a reload, upload once through a lost answer, open on a second device', async () => {
    const contextA = await browser.newContext();
    contexts.push(contextA);
    const sessionA = await login(url, 'tech1');
    let pageA = await openPage(contextA, sessionA);
    const expenseId = `exp-${newId()}`;
    const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(200 * 1024)]);
    const sha256 = createHash('sha256').update(photo).digest('hex');

    // Offline: the expense and its receipt photo are saved on the device.
    await contextA.setOffline(true);
    await pageA.evaluate((id) => window.emdadAttachments.newExpense(id, 'usr-tech1'), expenseId);
    const ref = await pageA.evaluate(
      ([id, b64]) => window.emdadAttachments.attach(id!, b64!, 'receipt.jpg', 'image/jpeg'),
      [expenseId, photo.toString('base64')],
    );
    expect(ref).toMatchObject({
      sha256,
      size: photo.byteLength,
      contentType: 'image/jpeg',
      name: 'receipt.jpg',
    });
    // What the user is told for a file that cannot be attached.
    const tooLarge = await pageA.evaluate(
      (id) => window.emdadAttachments.refusal(id, 6 * 1024 * 1024, 'image/jpeg'),
      expenseId,
    );
    expect(tooLarge.code).toBe('too_large');
    expect(tooLarge.en).toMatch(/at most 5 MB/);
    expect(tooLarge.fa).toMatch(/حداکثر 5 MB/);
    await pageA.evaluate(() => window.emdadAttachments.runUploads());
    expect(await pageA.evaluate(() => window.emdadAttachments.pending())).toEqual([
      expect.objectContaining({ sha256 }),
    ]);

    // Uploads are held off (still offline for them) while the page reloads: the bytes and the
    // outbox are in IndexedDB, not in memory.
    // What device A's page sent and saw, in order: pushes carrying the reference, confirmed uploads.
    const events: string[] = [];
    contextA.on('request', (request) => {
      if (
        request.method() === 'POST' &&
        request.url().endsWith('/expenses/push') &&
        request.postData()?.includes(sha256)
      )
        events.push('push-with-ref');
    });
    contextA.on('requestfinished', (request) => {
      if (request.method() === 'PUT' && request.url().endsWith(sha256)) events.push('upload-confirmed');
    });
    let putsSeen = 0;
    let blockUploads = true;
    await contextA.route('**/api/attachments/*', async (route) => {
      if (route.request().method() !== 'PUT') return route.continue();
      if (blockUploads) return route.abort('internetdisconnected');
      putsSeen++;
      if (putsSeen === 1) {
        // The server receives and stores the bytes; the answer never reaches the page.
        await route.fetch();
        return route.abort('connectionreset');
      }
      return route.continue();
    });
    // Back online (uploads still blocked) and reloaded: the version of the expense from before the
    // attach may be pushed as the old page closes, its answer lost with it; the next push then
    // merges without a base, and the reference must survive that (domain/src/attachment-merge.ts).
    await contextA.setOffline(false);
    await pageA.close();
    pageA = await openPage(contextA, sessionA);
    expect(
      await pageA.evaluate(([id, h]) => window.emdadAttachments.isOnDevice(id!, h!), [expenseId, sha256]),
    ).toBe(true);
    expect(await pageA.evaluate(() => window.emdadAttachments.pending())).toEqual([
      expect.objectContaining({ sha256 }),
    ]);
    const serverRefs = async () => {
      const rows = await server.db.query<{ doc: { attachments?: { sha256: string }[] } }>(
        "SELECT doc FROM documents WHERE collection = 'expenses' AND id = $1",
        [expenseId],
      );
      return rows[0]?.doc.attachments?.map((a) => a.sha256) ?? null;
    };

    // Uploads go through: the first answer is lost, the retry is a no-op on the server.
    blockUploads = false;
    await pageA.evaluate(() => window.emdadAttachments.reSync());
    await poll(() => pageA.evaluate(() => window.emdadAttachments.pending())).toEqual([]);
    await poll(serverRefs).toEqual([sha256]);
    expect(putsSeen).toBeGreaterThanOrEqual(2);
    // Upload first: no push carried the reference before the page had seen its bytes confirmed.
    expect(events.indexOf('upload-confirmed')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('push-with-ref')).toBeGreaterThan(events.indexOf('upload-confirmed'));
    const stored = await server.db.query<{ n: unknown }>(
      'SELECT count(*) AS n FROM attachments WHERE sha256 = $1',
      [sha256],
    );
    expect(Number(stored[0]?.n)).toBe(1);
    // Device A keeps its bytes after the server's copy of the expense comes back.
    await poll(() =>
      pageA.evaluate((id) => window.emdadAttachments.serverStamp(id), expenseId),
    ).not.toBeNull();
    expect(
      await pageA.evaluate(([id, h]) => window.emdadAttachments.isOnDevice(id!, h!), [expenseId, sha256]),
    ).toBe(true);

    // Device B: another browser profile of the same user.
    const contextB = await browser.newContext();
    contexts.push(contextB);
    const pageB = await openPage(contextB, await login(url, 'tech1'));
    await poll(async () =>
      (await pageB.evaluate((id) => window.emdadAttachments.refs(id), expenseId))?.map((r) => r.sha256),
    ).toEqual([sha256]);
    expect(
      await pageB.evaluate(([id, h]) => window.emdadAttachments.isOnDevice(id!, h!), [expenseId, sha256]),
    ).toBe(false);
    const read = await pageB.evaluate(
      ([id, h]) => window.emdadAttachments.read(id!, h!),
      [expenseId, sha256],
    );
    expect(read.type).toBe('image/jpeg');
    expect(Buffer.from(read.base64, 'base64').equals(photo)).toBe(true);
    expect(
      await pageB.evaluate(([id, h]) => window.emdadAttachments.isOnDevice(id!, h!), [expenseId, sha256]),
    ).toBe(true);
  }, 120_000);
});
