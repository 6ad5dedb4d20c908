/**
 * `npm run bench -- sync` → bench/results/sync.json
 * In real Chromium, one page, one run: the initial pull of 20,000 cases into a fresh RxDB (docs/s) and
 * `ratio` = that speed ÷ a raw Dexie bulkPut of the same documents; and the push of 2,000
 * offline-created cases until the server acknowledged every one (docs/s).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
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
import { BRANCH_IDS, MERCHANT_IDS, TEMPLATE_IDS, demoUsers } from '@emdad/fixtures';
import { createSyncServer } from '@emdad/sync-server/server';
import { launchChromium, writeResult } from './_support.ts';

const PULL_DOCS = Number(process.env.BENCH_PULL_DOCS ?? 20_000);
const PUSH_DOCS = Number(process.env.BENCH_PUSH_DOCS ?? 2_000);

const password = (username: string) => demoUsers.find((u) => u.username === username)!.password;

async function login(url: string, username: string): Promise<AuthSession> {
  const res = await fetch(url + API_ROUTES.login, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: password(username), installId: newId() }),
  });
  if (!res.ok) throw new Error(`login ${username}: ${res.status}`);
  return (await res.json()) as AuthSession;
}

function caseFor(
  session: AuthSession,
  seq: number,
  branchId: string,
  merchantId: string,
): CaseDoc & { _deleted: boolean } {
  const now = new Date().toISOString();
  return {
    id: newId(),
    trackingCode: formatTrackingCode(session.install.trackingPrefix, jalaliYearOf(new Date()), seq),
    templateId: TEMPLATE_IDS.posNoPrint,
    channel: 'walk_in',
    status: 'new',
    priority: 'normal',
    merchantId,
    equipmentId: null,
    branchId,
    subject: `کارتخوان چاپ نمی‌کند ${seq}`,
    description: 'کاغذ در چاپگر گیر کرده و دستگاه پیام خطای چاپ می‌دهد. مشتری درخواست بازدید دارد.',
    reporterName: 'رضا احمدی',
    reporterPhone: '09121234567',
    createdBy: session.user.id,
    assigneeId: null,
    createdAt: now,
    updatedAt: now,
    _deleted: false,
  };
}

async function main() {
  const pageDir = mkdtempSync(join(tmpdir(), 'emdad-bench-page-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'emdad-bench-db-'));
  await build({
    root: resolve('bench/browser'),
    logLevel: 'warn',
    build: { outDir: pageDir, emptyOutDir: true, target: 'es2022', minify: !process.env.BENCH_PROFILE },
  });
  const server = await createSyncServer({
    database: { kind: 'pglite', dataDir },
    seed: 'demo',
    rendererDist: pageDir,
    loginRateLimitPerMinute: 1000,
  });
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await launchChromium();
  try {
    // Seed the server through its own push endpoint (admin sees every case on pull).
    const admin = await login(url, 'admin1');
    const seedStart = performance.now();
    for (let start = 0; start < PULL_DOCS; start += PUSH_BATCH_MAX) {
      const rows = Array.from({ length: Math.min(PUSH_BATCH_MAX, PULL_DOCS - start) }, (_, i) => ({
        newDocumentState: caseFor(
          admin,
          start + i + 1,
          BRANCH_IDS.tehranVanak,
          MERCHANT_IDS.tehranSupermarket,
        ),
        assumedMasterState: null,
      }));
      const res = await fetch(url + API_ROUTES.replicationPush.replace(':collection', 'cases'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.accessToken}` },
        body: JSON.stringify(rows),
      });
      const body = (await res.json()) as PushResponse<CaseDoc>;
      if (!res.ok || body.conflicts.length || body.refused.length)
        throw new Error(`seeding failed: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    }
    const seedMs = performance.now() - seedStart;
    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error('page error:', err.message));
    page.on('console', (msg) => {
      if (process.env.BENCH_VERBOSE || msg.type() === 'error')
        console.log(`[page ${msg.type()}] ${msg.text()}`);
    });
    await page.goto(url + '/');
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
    // branch2 (Isfahan) sees none of the seeded Tehran cases, so its push run measures pushing only.
    const template = caseFor(admin, 1, BRANCH_IDS.isfahanChaharbagh, MERCHANT_IDS.isfahanSupermarket);
    const {
      id: _id,
      trackingCode: _t,
      createdAt: _c,
      updatedAt: _u,
      createdBy: _b,
      _deleted: _d,
      ...pushTemplate
    } = template;
    // BENCH_PROFILE=name: V8 CPU profiles of the page's initial pull and push, written to
    // name-pull.cpuprofile and name-push.cpuprofile (open them in Chrome DevTools, or summarise with
    // `npx tsx bench/profile-summary.ts name-pull.cpuprofile`). The page brackets each phase with
    // console.profile(); the bundle is left unminified so functions keep their names.
    const profileBase = process.env.BENCH_PROFILE?.replace(/\.cpuprofile$/, '');
    if (profileBase) {
      const cdp = await page.context().newCDPSession(page);
      cdp.on('Profiler.consoleProfileFinished', (event) => {
        const file = `${profileBase}-${event.title ?? 'phase'}.cpuprofile`;
        writeFileSync(file, JSON.stringify(event.profile));
        console.log(`wrote ${file}`);
      });
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    }
    const result = await page.evaluate(
      (config) =>
        (
          window as unknown as {
            runBench: (c: unknown) => Promise<{
              raw: { docs: number; ms: number[] };
              storageCalls: Record<string, { calls: number; ms: number; rows: number }>;
              replay: { rows: number; ms: number; stores: string[] };
              pullOnly: { docs: number; ms: number };
              pull: { docs: number; ms: number };
              push: { docs: number; acknowledged: number; ms: number };
              fetchOnly: { docs: number; ms: number };
            }>;
          }
        ).runBench(config),
      {
        profile: Boolean(profileBase),
        username: 'admin1',
        password: password('admin1'),
        pushUsername: 'branch2',
        pushPassword: password('branch2'),
        pushCount: PUSH_DOCS,
        pushTemplate,
      },
    );
    if (result.pull.docs !== PULL_DOCS || result.raw.docs !== PULL_DOCS)
      throw new Error(`pulled ${result.pull.docs}, raw ${result.raw.docs}, expected ${PULL_DOCS}`);
    if (result.push.acknowledged !== PUSH_DOCS)
      throw new Error(`only ${result.push.acknowledged} of ${PUSH_DOCS} pushes acknowledged`);
    const rate = (docs: number, ms: number) => Math.round((docs / ms) * 1000);
    const pullDocsPerSecond = rate(result.pull.docs, result.pull.ms);
    const rawMeanMs = result.raw.ms.reduce((a, b) => a + b, 0) / result.raw.ms.length;
    const rawDocsPerSecond = rate(result.raw.docs, rawMeanMs);
    const pushDocsPerSecond = rate(result.push.docs, result.push.ms);
    const serverPushDocsPerSecond = rate(PULL_DOCS, seedMs);
    const storageCalls = Object.fromEntries(
      Object.entries(result.storageCalls)
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([key, t]) => [
          key,
          {
            calls: t.calls,
            rows: t.rows,
            ms: Math.round(t.ms),
            shareOfPull: Number((t.ms / result.pull.ms).toFixed(3)),
          },
        ]),
    );
    writeResult('sync', {
      ratio: Number((pullDocsPerSecond / rawDocsPerSecond).toFixed(3)),
      ratioMeaning:
        'initial pull into RxDB (HTTP + replication + storage) ÷ raw Dexie bulkPut of the same documents (mean of a run before and one after the pull), same page and run',
      initialPull: { docs: result.pull.docs, docsPerSecond: pullDocsPerSecond },
      rawDexieBulkPut: {
        docs: result.raw.docs,
        docsPerSecond: rawDocsPerSecond,
        runsDocsPerSecond: result.raw.ms.map((ms) => rate(result.raw.docs, ms)),
      },
      pullRequestsOnly: {
        docs: result.fetchOnly.docs,
        docsPerSecond: rate(result.fetchOnly.docs, result.fetchOnly.ms),
        note: 'the same pages fetched with no storage: the server and HTTP share of the pull',
      },
      rxdbRowsReplayedRaw: {
        rows: result.replay.rows,
        pulledDocsPerSecond: rate(result.pull.docs, result.replay.ms),
        pullToReplayRatio: Number((pullDocsPerSecond / rate(result.pull.docs, result.replay.ms)).toFixed(3)),
        dexieStores: result.replay.stores,
        note: 'the exact rows RxDB stored for the pull (cases + replication meta, with their indexes) written again as plain Dexie bulkPuts: the storage floor of what RxDB writes, without RxDB',
      },
      pullOnlyReplicationWhatIf: {
        docs: result.pullOnly.docs,
        docsPerSecond: rate(result.pullOnly.docs, result.pullOnly.ms),
        ratioToRaw: Number((rate(result.pullOnly.docs, result.pullOnly.ms) / rawDocsPerSecond).toFixed(3)),
        note: 'not the app: the same pages through an RxDB replication without push, which stores no replication meta rows (what a pull-only collection for server data would cost)',
      },
      initialPullStorageCalls: {
        note: "time inside the storage calls RxDB made during the pull, per storage instance (calls overlap, so shares can add up to more than 1); replicationMeta is the replication protocol's copy of each document's last known server state",
        ...storageCalls,
      },
      push: {
        docs: result.push.docs,
        docsPerSecond: pushDocsPerSecond,
        pushToPullSpeedRatio: Number((pushDocsPerSecond / pullDocsPerSecond).toFixed(3)),
      },
      serverPushOnly: {
        docs: PULL_DOCS,
        docsPerSecond: serverPushDocsPerSecond,
        clientPushToServerPushRatio: Number((pushDocsPerSecond / serverPushDocsPerSecond).toFixed(3)),
        note: `seeding: the push endpoint called from Node in batches of ${PUSH_BATCH_MAX} new cases, no client storage: the server's share of a push`,
      },
      server: 'PGlite (data directory), same machine, loopback',
    });
  } finally {
    await browser.close();
    await server.close();
    rmSync(pageDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
