/**
 * Issue 2, "Prove it" — two RxDB clients (the renderer's own database and replication code, in Node on
 * fake-indexeddb) replicate with a real sync server, once on PGlite and once on a real PostgreSQL.
 * Both edit the same case while offline, both push; the documented conflict rule
 * (domain/src/conflict.ts) resolves it, server-owned fields stay the server's, and both converge.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API_ROUTES, isCaseSynced, type CaseDoc } from '@emdad/domain';
import {
  databaseOptions,
  demoCase,
  eventually,
  login,
  startClient,
  startServer,
  testDatabases,
  within,
  type RunningServer,
  type SyncClient,
} from '../support/sync-clients.ts';

async function serverCase(url: string, token: string, id: string): Promise<CaseDoc | null> {
  const res = await fetch(url + API_ROUTES.caseById.replace(':id', id), {
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status === 404) return null;
  expect(res.status).toBe(200);
  return (await res.json()) as CaseDoc;
}

function clientView(doc: CaseDoc | null | undefined) {
  if (!doc) return null;
  const { id, subject, description, priority, status, serverUpdatedAt, acknowledgedUpdatedAt, updatedAt } =
    doc;
  return { id, subject, description, priority, status, serverUpdatedAt, acknowledgedUpdatedAt, updatedAt };
}

describe.each(testDatabases())('two clients on %s', (kind) => {
  let running: RunningServer | undefined;
  const clients: SyncClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await running?.close();
    running = undefined;
  });

  it('edit the same case offline, push, resolve by the documented rule, and converge', async () => {
    running = await startServer(await databaseOptions(kind));
    const branch = await startClient(running.url, 'branch1');
    const supervisor = await startClient(running.url, 'super1');
    clients.push(branch, supervisor);

    // Branch staff log a walk-in case online; it reaches the server and the supervisor's device.
    const created = demoCase(branch.session, 1);
    await branch.db.cases.insert(created);
    await eventually(
      async () => isCaseSynced((await branch.db.cases.findOne(created.id).exec())!.toJSON()),
      'branch copy acknowledged',
    );
    await eventually(
      () => supervisor.db.cases.findOne(created.id).exec(),
      'supervisor receives the case live',
    );

    // Both go offline and edit the same case.
    branch.setOnline(false);
    supervisor.setOnline(false);
    const branchDoc = (await branch.db.cases.findOne(created.id).exec())!;
    await branchDoc.incrementalPatch({
      subject: 'چاپگر کارتخوان خراب است',
      description: 'کاغذ گیر کرده و چاپگر صدا می‌دهد',
      updatedAt: new Date(Date.now() + 1).toISOString(),
    });
    const supervisorDoc = (await supervisor.db.cases.findOne(created.id).exec())!;
    await supervisorDoc.incrementalPatch({
      subject: 'عنوان سرپرست',
      priority: 'high',
      status: 'triaged',
      updatedAt: new Date(Date.now() + 2).toISOString(),
    });

    // Offline edits are local only: nothing is marked synced, the server still has the original.
    expect(isCaseSynced((await branch.db.cases.findOne(created.id).exec())!.toJSON())).toBe(false);
    const adminSession = await login(running.url, 'admin1');
    expect((await serverCase(running.url, adminSession.accessToken, created.id))?.subject).toBe(
      created.subject,
    );

    // The branch reconnects first and wins the field both changed; then the supervisor reconnects.
    branch.setOnline(true);
    await within(branch.replication.awaitInSync(), 20_000, 'branch in sync');
    supervisor.setOnline(true);
    await within(supervisor.replication.awaitInSync(), 20_000, 'supervisor in sync');

    const onServer = await eventually(async () => {
      const doc = await serverCase(running!.url, adminSession.accessToken, created.id);
      return doc && doc.priority === 'high' ? doc : null;
    }, 'merged version on the server');
    // Rule: a field only one side changed keeps that side's value; a field both changed keeps the
    // first to reach the server; server-owned fields are the server's.
    expect(onServer.subject).toBe('چاپگر کارتخوان خراب است');
    expect(onServer.description).toBe('کاغذ گیر کرده و چاپگر صدا می‌دهد');
    expect(onServer.priority).toBe('high');
    expect(onServer.status).toBe('triaged');
    expect(onServer.acknowledgedUpdatedAt).toBe(onServer.updatedAt);

    // Both devices converge on exactly the server's version, and show it as synced.
    for (const client of [branch, supervisor]) {
      await eventually(async () => {
        const local = (await client.db.cases.findOne(created.id).exec())?.toJSON() as CaseDoc | undefined;
        return local && JSON.stringify(clientView(local)) === JSON.stringify(clientView(onServer));
      }, `${client.username} converges`);
      const local = (await client.db.cases.findOne(created.id).exec())!.toJSON() as CaseDoc;
      expect(isCaseSynced(local)).toBe(true);
    }
    expect(branch.refused).toEqual([]);
    expect(supervisor.refused).toEqual([]);
  });

  it('many offline cases from both clients all arrive once, with unique tracking codes', async () => {
    running = await startServer(await databaseOptions(kind));
    const branch = await startClient(running.url, 'branch1');
    const supervisor = await startClient(running.url, 'super1');
    clients.push(branch, supervisor);
    branch.setOnline(false);
    const docs = Array.from({ length: 120 }, (_, i) => demoCase(branch.session, i + 1));
    await branch.db.cases.bulkInsert(docs);
    expect((await branch.db.cases.find().exec()).filter((d) => isCaseSynced(d.toJSON())).length).toBe(0);
    branch.setOnline(true);
    await within(branch.replication.awaitInSync(), 30_000, 'branch in sync');
    await eventually(
      async () => (await supervisor.db.cases.count().exec()) === 120,
      'supervisor has all 120',
    );
    const codes = new Set((await supervisor.db.cases.find().exec()).map((d) => d.trackingCode));
    expect(codes.size).toBe(120);
    const synced = (await branch.db.cases.find().exec()).filter((d) => isCaseSynced(d.toJSON()));
    expect(synced.length).toBe(120);
  });
});
