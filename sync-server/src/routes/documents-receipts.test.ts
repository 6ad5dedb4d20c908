/**
 * Push receipts for every collection but cases (documents.ts; cases have theirs in cases.ts): a
 * resend of content the same install already had accepted — the answer to its push was lost — is
 * the retry it is, even after someone else changed the document meanwhile. Without it the resend
 * conflicts, and the device merges its next edit of the same field against a base from before its
 * own accepted write: that edit is silently lost (tests/integration/chaos.test.ts found it for cases).
 */
import { randomUUID } from 'node:crypto';
import type { AuthSession } from '@emdad/domain';
import { USER_IDS } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncServer, type SyncServer } from '../server.ts';
import { backends, login, manualClock, pullCollection, pushTo } from '../test-support.ts';

type Doc = Record<string, unknown> & { id: string; serverUpdatedAt?: number | null };

describe.each(backends().map((b) => [b.name, b] as const))(
  'document push receipts on %s',
  (_name, backend) => {
    const clock = manualClock();
    let server: SyncServer;
    let tech1: AuthSession;
    let super1: AuthSession;
    const iso = () => new Date(clock.now()).toISOString();

    beforeAll(async () => {
      server = await createSyncServer({
        database: await backend.freshDatabase('doc_receipts'),
        seed: 'demo',
        now: clock.now,
        loginRateLimitPerMinute: 1000,
      });
      tech1 = await login(server.app, 'tech1');
      super1 = await login(server.app, 'super1');
    });
    afterAll(async () => {
      await server?.close();
    });

    async function stored(session: AuthSession, id: string): Promise<Doc> {
      const { documents } = await pullCollection(server.app, session, 'expenses');
      const doc = documents.find((d) => d.id === id);
      if (!doc) throw new Error(`expense ${id} not readable`);
      return doc;
    }

    /** A technician's new mission, as a device creates it. */
    const draftMission = (): Doc => ({
      id: `mis-${randomUUID()}`,
      title: 'Site visit',
      status: 'draft',
      createdBy: USER_IDS.tech1,
      assigneeId: USER_IDS.tech1,
      place: 'Vanak Square',
      caseIds: [],
      windowStart: null,
      windowEnd: null,
      approvedBy: null,
      approvedAt: null,
      reportActivities: [],
      revisitReason: null,
      createdAt: iso(),
      updatedAt: iso(),
    });

    it('accepts a resend of the accepted submission after the supervisor decided, and keeps the decision', async () => {
      const draft: Doc = {
        id: `exp-${randomUUID()}`,
        missionId: null,
        submitterId: USER_IDS.tech1,
        category: 'transport',
        amount: 1_500_000,
        currency: 'IRR',
        description: 'Taxi',
        hasReceipt: false,
        status: 'draft',
        submittedAt: null,
        decidedBy: null,
        decidedAt: null,
        rejectionReason: null,
        createdAt: iso(),
        updatedAt: iso(),
      };
      const created = await pushTo(server.app, tech1, 'expenses', [
        { newDocumentState: { ...draft, _deleted: false }, assumedMasterState: null },
      ]);
      expect(created.body).toMatchObject({ conflicts: [], refused: [] });
      const master = await stored(tech1, draft.id);

      // The submission reaches the server; its answer is lost (the device does not know).
      clock.advance(1000);
      const submission = {
        newDocumentState: { ...master, status: 'submitted', submittedAt: iso(), updatedAt: iso() },
        assumedMasterState: master,
      };
      expect((await pushTo(server.app, tech1, 'expenses', [submission])).body).toMatchObject({
        conflicts: [],
        refused: [],
      });

      // The supervisor approves it.
      clock.advance(1000);
      const submitted = await stored(super1, draft.id);
      const decision = await pushTo(server.app, super1, 'expenses', [
        {
          newDocumentState: {
            ...submitted,
            status: 'approved',
            decidedBy: USER_IDS.super1,
            decidedAt: iso(),
            updatedAt: iso(),
          },
          assumedMasterState: submitted,
        },
      ]);
      expect(decision.body).toMatchObject({ conflicts: [], refused: [] });
      const approved = await stored(super1, draft.id);

      // RxDB resends the submission: the retry it is — accepted, nothing written, the decision stays.
      clock.advance(1000);
      expect((await pushTo(server.app, tech1, 'expenses', [submission])).body).toMatchObject({
        conflicts: [],
        refused: [],
      });
      expect(await stored(super1, draft.id)).toEqual(approved);

      // Another install of the same technician sending that content has no receipt: a conflict.
      const otherInstall = await login(server.app, 'tech1');
      expect(otherInstall.install.id).not.toBe(tech1.install.id);
      const fromOther = await pushTo(server.app, otherInstall, 'expenses', [submission]);
      expect(fromOther.body.refused).toEqual([]);
      expect(fromOther.body.conflicts.map((c) => [c.id, c.status])).toEqual([[draft.id, 'approved']]);
    });

    it('recognises a resent create after someone else changed the document', async () => {
      const mission = draftMission();
      const create = { newDocumentState: { ...mission, _deleted: false }, assumedMasterState: null };
      expect((await pushTo(server.app, tech1, 'missions', [create])).body).toMatchObject({
        conflicts: [],
        refused: [],
      });
      const { documents } = await pullCollection(server.app, super1, 'missions');
      const master = documents.find((d) => d.id === mission.id)!;
      clock.advance(1000);
      const byOffice = await pushTo(server.app, super1, 'missions', [
        {
          newDocumentState: { ...master, place: 'Vanak Square, gate 2', updatedAt: iso() },
          assumedMasterState: master,
        },
      ]);
      expect(byOffice.body).toMatchObject({ conflicts: [], refused: [] });
      clock.advance(1000);
      expect((await pushTo(server.app, tech1, 'missions', [create])).body).toMatchObject({
        conflicts: [],
        refused: [],
      });
      const after = (await pullCollection(server.app, super1, 'missions')).documents.find(
        (d) => d.id === mission.id,
      );
      expect(after?.place).toBe('Vanak Square, gate 2');
    });

    it('fast-forwards an edit pushed against no master after its own create, while nobody else wrote it', async () => {
      // The answer to the create was lost and the technician edited before the retry was answered:
      // RxDB pushes the edit with no assumed master. The stored content is the technician's own.
      const mission = draftMission();
      const create = { newDocumentState: { ...mission, _deleted: false }, assumedMasterState: null };
      expect((await pushTo(server.app, tech1, 'missions', [create])).body).toMatchObject({
        conflicts: [],
        refused: [],
      });
      clock.advance(1000);
      const edit = {
        newDocumentState: { ...mission, title: 'Site visit and swap', updatedAt: iso(), _deleted: false },
        assumedMasterState: null,
      };
      expect((await pushTo(server.app, tech1, 'missions', [edit])).body).toMatchObject({
        conflicts: [],
        refused: [],
      });
      const after = (await pullCollection(server.app, super1, 'missions')).documents.find(
        (d) => d.id === mission.id,
      );
      expect(after?.title).toBe('Site visit and swap');
      // Another install has no receipt for it: the same stale push is a conflict there.
      const otherInstall = await login(server.app, 'tech1');
      const fromOther = await pushTo(server.app, otherInstall, 'missions', [
        { ...edit, newDocumentState: { ...edit.newDocumentState, title: 'Other' } },
      ]);
      expect(fromOther.body.conflicts.map((c) => c.title)).toEqual(['Site visit and swap']);
    });
  },
);
