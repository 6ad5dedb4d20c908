/**
 * ServerWriter: the server's own writes land in exactly the rows, stamps, scope moves and audit
 * entries a push produces, and are announced only after COMMIT — on PGlite and PostgreSQL.
 */
import type { AuthSession, CaseDoc } from '@emdad/domain';
import { USER_IDS } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../audit.ts';
import type { ChangeNotice } from '../replication/stream.ts';
import { createSyncServer, type SyncServer } from '../server.ts';
import { backends, login, manualClock, newCase, pullAll, pullCollection, push } from '../test-support.ts';
import { SYSTEM_ACTOR, ServerWriteError, ServerWriter } from './server-writes.ts';

function notification(userId: string, id = `ntf-${crypto.randomUUID()}`) {
  const at = new Date(Date.UTC(2026, 10, 23, 9, 0)).toISOString();
  return {
    id,
    userId,
    kind: 'assignment' as const,
    title: { fa: 'پرونده جدید', en: 'New case' },
    body: { fa: 'پرونده‌ای به شما سپرده شد.', en: 'A case was assigned to you.' },
    link: null,
    createdAt: at,
    readAt: null,
    updatedAt: at,
  };
}

describe.each(backends())('ServerWriter on $name', (backend) => {
  const clock = manualClock();
  let server: SyncServer;
  let tech1: AuthSession;
  let tech2: AuthSession;
  let branch1: AuthSession;
  const notices: ChangeNotice[] = [];
  let writer: ServerWriter;

  beforeAll(async () => {
    server = await createSyncServer({
      database: await backend.freshDatabase('server_writes'),
      seed: 'demo',
      now: clock.now,
      rendererDist: false,
    });
    writer = new ServerWriter(
      server.db,
      {
        announce: async (notice) => {
          notices.push(notice);
        },
      },
      clock.now,
    );
    tech1 = await login(server.app, 'tech1');
    tech2 = await login(server.app, 'tech2');
    branch1 = await login(server.app, 'branch1');
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('writes a case as system: stamped after the push, audited, announced after commit, moves scope', async () => {
    const created = newCase(branch1, { assigneeId: USER_IDS.tech1 });
    expect(
      (await push(server.app, branch1, [{ newDocumentState: created, assumedMasterState: null }])).body
        .refused,
    ).toEqual([]);
    const before = await pullCollection(server.app, tech1, 'cases');
    const pushedStamp = before.documents.find((d) => d.id === created.id)?.serverUpdatedAt as number;
    expect(pushedStamp).toBeGreaterThan(0);

    clock.advance(1000);
    notices.length = 0;
    const stored = await writer.transaction(async (w) => {
      const current = await w.get<CaseDoc>('cases', created.id);
      expect(current?.assigneeId).toBe(USER_IDS.tech1);
      return await w.put('cases', { ...current!, assigneeId: USER_IDS.tech2 });
    });
    expect(stored.serverUpdatedAt).toBeGreaterThan(pushedStamp);
    expect(stored.acknowledgedUpdatedAt).toBe(created.updatedAt);
    expect(notices).toEqual([{ collection: 'cases', stamp: stored.serverUpdatedAt }]);

    // The new assignee pulls it; the old one gets a tombstone (a scope move), as after a push.
    const forTech2 = (await pullAll(server.app, tech2)).documents.find((d) => d.id === created.id);
    expect(forTech2).toMatchObject({ assigneeId: USER_IDS.tech2, serverUpdatedAt: stored.serverUpdatedAt });
    const forTech1 = (await pullCollection(server.app, tech1, 'cases', before.checkpoint)).documents.find(
      (d) => d.id === created.id,
    );
    expect(forTech1).toEqual({ id: created.id, serverUpdatedAt: stored.serverUpdatedAt, _deleted: true });

    const audit = await queryAudit(server.db, { docId: created.id, collection: 'cases', limit: 10 });
    const systemEntry = audit.entries.find((e) => e.userId === SYSTEM_ACTOR.userId);
    expect(systemEntry).toMatchObject({
      action: 'update',
      installId: null,
      changes: { assigneeId: [USER_IDS.tech1, USER_IDS.tech2] },
    });
  });

  it('writes documents with derived scope columns, one stamp per collection, only the recipient reads them', async () => {
    clock.advance(1000);
    notices.length = 0;
    const forTech1 = notification(USER_IDS.tech1);
    const forTech2 = notification(USER_IDS.tech2);
    const [a, b] = await writer.transaction(
      async (w) => [await w.put('notifications', forTech1), await w.put('notifications', forTech2)],
      { lock: ['notifications'] },
    );
    expect(a.serverUpdatedAt).toBe(b.serverUpdatedAt);
    expect(notices).toEqual([{ collection: 'notifications', stamp: a.serverUpdatedAt }]);
    const seen1 = (await pullCollection(server.app, tech1, 'notifications')).documents.map((d) => d.id);
    const seen2 = (await pullCollection(server.app, tech2, 'notifications')).documents.map((d) => d.id);
    expect(seen1).toContain(forTech1.id);
    expect(seen1).not.toContain(forTech2.id);
    expect(seen2).toContain(forTech2.id);

    // Same content again: no new stamp, no audit entry, nothing announced.
    notices.length = 0;
    clock.advance(1000);
    const again = await writer.transaction(async (w) => await w.put('notifications', forTech1));
    expect(again.serverUpdatedAt).toBe(a.serverUpdatedAt);
    expect(notices).toEqual([]);
    const audit = await queryAudit(server.db, { docId: forTech1.id, limit: 10 });
    expect(audit.entries.map((e) => [e.userId, e.action])).toEqual([['system', 'create']]);
  });

  it('rolls back and announces nothing when the work throws; refuses documents that break the schema', async () => {
    notices.length = 0;
    const lost = notification(USER_IDS.tech1);
    await expect(
      writer.transaction(async (w) => {
        await w.put('notifications', lost);
        throw new Error('workflow failed');
      }),
    ).rejects.toThrow('workflow failed');
    expect(notices).toEqual([]);
    expect(await writer.transaction(async (w) => await w.get('notifications', lost.id))).toBeNull();

    await expect(
      writer.transaction(
        async (w) => await w.put('notifications', { ...lost, kind: 'nonsense' as 'system' }),
      ),
    ).rejects.toBeInstanceOf(ServerWriteError);
  });

  it('a client pushing over a server write sees a conflict and gets the server version back', async () => {
    const created = newCase(branch1);
    await push(server.app, branch1, [{ newDocumentState: created, assumedMasterState: null }]);
    const assumed = (await pullAll(server.app, branch1)).documents.find((d) => d.id === created.id)!;
    clock.advance(1000);
    await writer.transaction(async (w) => {
      const current = await w.get<CaseDoc>('cases', created.id);
      await w.put('cases', { ...current!, assigneeId: USER_IDS.tech1 });
    });
    const edit = {
      ...created,
      subject: 'Edited on the device',
      updatedAt: new Date(clock.now()).toISOString(),
    };
    const answer = await push(server.app, branch1, [{ newDocumentState: edit, assumedMasterState: assumed }]);
    expect(answer.body.conflicts.map((c) => [c.id, c.assigneeId])).toEqual([[created.id, USER_IDS.tech1]]);
  });
});
