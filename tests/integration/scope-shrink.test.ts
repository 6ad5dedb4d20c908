/**
 * Issue 4 — "when a user's scope shrinks, the documents that left it are removed from their device at the
 * next sync — no leak". Real server, the renderer's real RxDB client: branch staff hold a case of their
 * branch; an admin moves them to the other branch; the case disappears from their device, and a case of
 * the new branch arrives. Also: an install revoked by an admin stops syncing at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API_ROUTES, type AuthSession } from '@emdad/domain';
import { BRANCH_IDS, MERCHANT_IDS, USER_IDS } from '@emdad/fixtures';
import {
  databaseOptions,
  demoCase,
  eventually,
  login,
  startClient,
  startServer,
  testDatabases,
  type RunningServer,
  type SyncClient,
} from '../support/sync-clients.ts';

function caseAt(session: AuthSession, seq: number, branchId: string, merchantId: string) {
  return { ...demoCase(session, seq, { channel: 'phone', branchId, merchantId }), _deleted: false };
}

async function adminPost(url: string, admin: AuthSession, path: string, body: unknown): Promise<Response> {
  return fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.accessToken}` },
    body: JSON.stringify(body),
  });
}

describe.each(testDatabases())('scope changes reach devices on %s', (kind) => {
  let running: RunningServer | undefined;
  const clients: SyncClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await running?.close();
    running = undefined;
  });

  it('a branch move removes the old branch’s cases from the device and brings the new branch’s', async () => {
    running = await startServer(await databaseOptions(kind));
    const admin = await login(running.url, 'admin1');
    const tehranCase = caseAt(admin, 1, BRANCH_IDS.tehranVanak, MERCHANT_IDS.tehranSupermarket);
    const isfahanCase = caseAt(admin, 2, BRANCH_IDS.isfahanChaharbagh, MERCHANT_IDS.isfahanSupermarket);
    const push = await adminPost(
      running.url,
      admin,
      API_ROUTES.replicationPush.replace(':collection', 'cases'),
      [
        { newDocumentState: tehranCase, assumedMasterState: null },
        { newDocumentState: isfahanCase, assumedMasterState: null },
      ],
    );
    expect(push.status).toBe(200);
    expect(await push.json()).toMatchObject({ conflicts: [], refused: [] });

    const branch = await startClient(running.url, 'branch1');
    clients.push(branch);
    await eventually(() => branch.db.cases.findOne(tehranCase.id).exec(), 'branch1 holds its branch’s case');
    expect(await branch.db.cases.findOne(isfahanCase.id).exec()).toBeNull();

    const move = await adminPost(
      running.url,
      admin,
      API_ROUTES.adminUserScope.replace(':id', USER_IDS.branch1),
      {
        branchId: BRANCH_IDS.isfahanChaharbagh,
      },
    );
    expect(move.status).toBe(200);

    await eventually(
      async () => (await branch.db.cases.findOne(tehranCase.id).exec()) === null,
      'the Tehran case leaves branch1’s device',
    );
    await eventually(() => branch.db.cases.findOne(isfahanCase.id).exec(), 'the Isfahan case arrives');
    // Only the new branch's case is left among the documents the app can read.
    const remaining = await branch.db.cases.find().exec();
    expect(remaining.map((d) => d.branchId)).toEqual([BRANCH_IDS.isfahanChaharbagh]);
  });

  it('revoking an install stops its sync at once', async () => {
    running = await startServer(await databaseOptions(kind));
    const admin = await login(running.url, 'admin1');
    const branch = await startClient(running.url, 'branch1');
    clients.push(branch);
    const revoke = await adminPost(
      running.url,
      admin,
      API_ROUTES.adminRevokeInstall.replace(':id', branch.session.install.id),
      {},
    );
    expect(revoke.status).toBe(200);
    const me = await fetch(running.url + API_ROUTES.me, {
      headers: { authorization: `Bearer ${branch.session.accessToken}` },
    });
    expect(me.status).toBe(401);
    expect((await me.json()).error.code).toBe('install_revoked');
    const refresh = await fetch(running.url + API_ROUTES.refresh, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: branch.session.refreshToken }),
    });
    expect(refresh.status).toBe(401);
  });
});
