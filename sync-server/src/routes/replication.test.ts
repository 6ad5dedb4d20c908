import { PULL_BATCH_MAX, PUSH_BATCH_MAX, type AuthSession, type CaseDoc, type WireDoc } from '@emdad/domain';
import { BRANCH_IDS, USER_IDS } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncServer, type SyncServer } from '../server.ts';
import {
  backends,
  bearer,
  edited,
  getCaseById,
  login,
  manualClock,
  newCase,
  pull,
  pullAll,
  push,
} from '../test-support.ts';

describe.each(backends().map((b) => [b.name, b] as const))('case replication on %s', (_name, backend) => {
  const clock = manualClock();
  let server: SyncServer;
  let tech1: AuthSession;
  let tech2: AuthSession;
  let branch1: AuthSession;
  let branch2: AuthSession;
  let super1: AuthSession;

  beforeAll(async () => {
    server = await createSyncServer({
      database: await backend.freshDatabase('replication'),
      seed: 'demo',
      now: clock.now,
      loginRateLimitPerMinute: 1000,
    });
    tech1 = await login(server.app, 'tech1');
    tech2 = await login(server.app, 'tech2');
    branch1 = await login(server.app, 'branch1');
    branch2 = await login(server.app, 'branch2');
    super1 = await login(server.app, 'super1');
  });
  afterAll(async () => {
    await server?.close();
  });

  const countCases = async () =>
    Number((await server.db.query<{ n: unknown }>('SELECT count(*) AS n FROM cases'))[0]?.n);

  it('accepts a new case, stamps it from the server clock, and hands it back on pull', async () => {
    clock.advance(1000);
    const doc = newCase(branch1);
    const result = await push(server.app, branch1, [{ newDocumentState: doc, assumedMasterState: null }]);
    expect(result.status).toBe(200);
    // The answer names what was written and the stamp of that version.
    expect(result.body).toEqual({
      conflicts: [],
      refused: [],
      written: { serverUpdatedAt: clock.now(), ids: [doc.id] },
    });
    // A resend writes nothing: no `written`.
    const resend = await push(server.app, branch1, [{ newDocumentState: doc, assumedMasterState: null }]);
    expect(resend.body.written).toBeUndefined();

    const stored = await getCaseById(server.app, branch1, doc.id);
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({
      ...doc,
      serverUpdatedAt: clock.now(),
      acknowledgedUpdatedAt: doc.updatedAt,
      sla: null,
      _deleted: false,
    });

    const page = await pull(server.app, super1, null);
    const found = page.documents.find((d) => d.id === doc.id);
    expect(found?.serverUpdatedAt).toBe(clock.now());
    expect(page.checkpoint).toEqual({
      serverUpdatedAt: page.documents.at(-1)?.serverUpdatedAt,
      id: page.documents.at(-1)?.id,
    });
    // Nothing after the last checkpoint: the same checkpoint comes back.
    const after = await pull(server.app, super1, page.checkpoint);
    expect(after).toEqual({ documents: [], checkpoint: page.checkpoint });
  });

  it('stamps strictly increasing even when the clock stands still or goes back', async () => {
    const a = newCase(tech1);
    const b = newCase(tech1);
    await push(server.app, tech1, [{ newDocumentState: a, assumedMasterState: null }]);
    clock.advance(-5000);
    await push(server.app, tech1, [{ newDocumentState: b, assumedMasterState: null }]);
    const stampA = (await getCaseById(server.app, tech1, a.id)).body.serverUpdatedAt as number;
    const stampB = (await getCaseById(server.app, tech1, b.id)).body.serverUpdatedAt as number;
    expect(stampB).toBeGreaterThan(stampA);
    clock.advance(5000);
  });

  it('pages many documents that share one stamp with a small limit and loses none', async () => {
    clock.advance(1000);
    const batch = Array.from({ length: 37 }, () => newCase(tech2));
    const result = await push(
      server.app,
      tech2,
      batch.map((doc) => ({ newDocumentState: doc, assumedMasterState: null })),
    );
    expect(result.body).toMatchObject({ conflicts: [], refused: [] });
    const stamps = new Set<number>();
    for (const doc of batch)
      stamps.add((await getCaseById(server.app, tech2, doc.id)).body.serverUpdatedAt as number);
    expect(stamps.size).toBe(1);

    const { documents, pages } = await pullAll(server.app, tech2, 5);
    expect(pages).toBeGreaterThanOrEqual(8);
    const ids = documents.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const doc of batch) expect(ids).toContain(doc.id);
  });

  it('returns only the master on a conflict and stores nothing from the losing write', async () => {
    const doc = newCase(branch1);
    await push(server.app, branch1, [{ newDocumentState: doc, assumedMasterState: null }]);
    const master = (await getCaseById(server.app, branch1, doc.id)).body;

    // The supervisor triages it first.
    clock.advance(1000);
    const triaged = edited(master, { status: 'triaged', priority: 'urgent' });
    expect(
      (await push(server.app, super1, [{ newDocumentState: triaged, assumedMasterState: master }])).body,
    ).toMatchObject({ conflicts: [], refused: [] });
    const current = (await getCaseById(server.app, super1, doc.id)).body;

    // The branch, still on the old version, edits the subject.
    const stale = edited(master, { subject: 'رسید کمرنگ چاپ می‌شود' });
    const result = await push(server.app, branch1, [{ newDocumentState: stale, assumedMasterState: master }]);
    expect(result.body.refused).toEqual([]);
    expect(result.body.conflicts).toEqual([current]);
    expect((await getCaseById(server.app, super1, doc.id)).body).toEqual(current);
  });

  it('stores a retried push once, without a new stamp, and hands the stored version back (idempotent)', async () => {
    const doc = newCase(tech1);
    const row = { newDocumentState: doc, assumedMasterState: null };
    await push(server.app, tech1, [row]);
    const first = (await getCaseById(server.app, tech1, doc.id)).body;
    clock.advance(1000);
    // The retry assumed no master: it gets the stored version back, so the device takes the server's
    // stamp and acknowledgement even if it skipped them while the first answer was lost.
    const retry = await push(server.app, tech1, [row]);
    expect(retry.body).toEqual({ conflicts: [first], refused: [] });
    expect((await getCaseById(server.app, tech1, doc.id)).body).toEqual(first);

    // An edit pushed twice: the second copy carries the old server fields but is still a retry.
    clock.advance(1000);
    const edit = { newDocumentState: edited(first, { status: 'in_progress' }), assumedMasterState: first };
    expect((await push(server.app, tech1, [edit])).body).toMatchObject({ conflicts: [], refused: [] });
    const afterEdit = (await getCaseById(server.app, tech1, doc.id)).body;
    expect((await push(server.app, tech1, [edit])).body).toEqual({ conflicts: [afterEdit], refused: [] });
    expect((await getCaseById(server.app, tech1, doc.id)).body).toEqual(afterEdit);
    // A retry that already knows the stored version is answered with nothing.
    const known = { newDocumentState: afterEdit, assumedMasterState: afterEdit };
    expect((await push(server.app, tech1, [known])).body).toMatchObject({ conflicts: [], refused: [] });
  });

  it('recognises a resend of what the same install had accepted, after someone else changed the case (push receipts)', async () => {
    // The answer to branch1's create was lost; super1 edits the case; RxDB resends the create.
    const doc = newCase(branch1);
    const row = { newDocumentState: doc, assumedMasterState: null };
    expect((await push(server.app, branch1, [row])).body).toMatchObject({ conflicts: [], refused: [] });
    const created = (await getCaseById(server.app, super1, doc.id)).body;
    clock.advance(1000);
    const byOffice = edited(created, { description: 'از دفتر مرکزی' });
    expect(
      (await push(server.app, super1, [{ newDocumentState: byOffice, assumedMasterState: created }])).body,
    ).toMatchObject({ conflicts: [], refused: [] });
    const current = (await getCaseById(server.app, super1, doc.id)).body;
    clock.advance(1000);
    // Same install, same content: the retry it is — accepted, nothing written, the office's edit stays.
    expect((await push(server.app, branch1, [row])).body).toMatchObject({ conflicts: [], refused: [] });
    expect((await getCaseById(server.app, super1, doc.id)).body).toEqual(current);
    // Another install of the same user sending that content has no receipt: a conflict, as before.
    const otherInstall = await login(server.app, 'branch1');
    expect(otherInstall.install.id).not.toBe(branch1.install.id);
    const fromOther = await push(server.app, otherInstall, [row]);
    expect(fromOther.body.conflicts.map((c) => c.id)).toEqual([doc.id]);
    expect(fromOther.body.conflicts[0]?.description).toBe('از دفتر مرکزی');
  });

  it('merges an edit whose assumed master predates its own accepted push from that accepted content', async () => {
    // The answer to branch1's create was lost; its user edits the case before RxDB's retry gets an
    // answer, so the edit comes with no assumed master at all.
    const doc = newCase(branch1);
    expect(
      (await push(server.app, branch1, [{ newDocumentState: doc, assumedMasterState: null }])).body,
    ).toMatchObject({ conflicts: [], refused: [] });
    clock.advance(1000);
    const laterEdit = edited(doc, { description: 'ویرایش پس از ثبت' });
    const ff = await push(server.app, branch1, [{ newDocumentState: laterEdit, assumedMasterState: null }]);
    expect(ff.body).toMatchObject({ conflicts: [], refused: [] });
    const stored = (await getCaseById(server.app, super1, doc.id)).body;
    expect(stored).toMatchObject({ description: 'ویرایش پس از ثبت', serverUpdatedAt: clock.now() });

    // Another install never had this case accepted: its stale push is a conflict.
    const otherInstall = await login(server.app, 'branch1');
    clock.advance(1000);
    const fromOther = await push(server.app, otherInstall, [
      { newDocumentState: edited(doc, { description: 'از دستگاه دیگر' }), assumedMasterState: null },
    ]);
    expect(fromOther.body.conflicts.map((c) => c.description)).toEqual(['ویرایش پس از ثبت']);

    // Someone else writes another field; branch1's next edit still comes against no master (its
    // answers keep getting lost): the server merges it from branch1's own accepted content, so both
    // edits stand.
    clock.advance(1000);
    const byOffice = edited(stored, { reporterName: 'دفتر مرکزی' });
    expect(
      (await push(server.app, super1, [{ newDocumentState: byOffice, assumedMasterState: stored }])).body,
    ).toMatchObject({ conflicts: [], refused: [] });
    clock.advance(1000);
    const lateEdit = edited(laterEdit, { description: 'دیر رسید' });
    const stale = await push(server.app, branch1, [{ newDocumentState: lateEdit, assumedMasterState: null }]);
    expect(stale.body).toMatchObject({ conflicts: [], refused: [] });
    expect((await getCaseById(server.app, super1, doc.id)).body).toMatchObject({
      description: 'دیر رسید',
      reporterName: 'دفتر مرکزی',
    });
    // A field both changed keeps the server's value (the documented rule), from that same base.
    clock.advance(1000);
    const both = await push(server.app, branch1, [
      { newDocumentState: edited(lateEdit, { reporterName: 'از شعبه' }), assumedMasterState: null },
    ]);
    expect(both.body.conflicts.map((c) => c.reporterName)).toEqual(['دفتر مرکزی']);
  });

  it('accepts an edit from a copy that never received the server fields (RxDB writer) and stamps it', async () => {
    const doc = newCase(tech1);
    await push(server.app, tech1, [{ newDocumentState: doc, assumedMasterState: null }]);
    const master = (await getCaseById(server.app, tech1, doc.id)).body;
    clock.advance(1000);
    // RxDB keeps the row it pushed as the assumed master and skips the equal master coming back down,
    // so the writer's local copy has no serverUpdatedAt / acknowledgedUpdatedAt.
    const localEdit = edited(doc, { status: 'in_progress' });
    const result = await push(server.app, tech1, [
      { newDocumentState: localEdit, assumedMasterState: master },
    ]);
    expect(result.body).toMatchObject({ conflicts: [], refused: [] });
    const after = (await getCaseById(server.app, tech1, doc.id)).body;
    expect(after).toMatchObject({
      status: 'in_progress',
      serverUpdatedAt: clock.now(),
      acknowledgedUpdatedAt: localEdit.updatedAt,
    });
  });

  describe('refuses bad writes with a code and stores nothing', () => {
    const refusedCode = async (
      session: AuthSession,
      row: { newDocumentState: WireDoc<CaseDoc>; assumedMasterState: WireDoc<CaseDoc> | null },
    ) => {
      const before = await countCases();
      const result = await push(server.app, session, [row]);
      expect(result.status).toBe(200);
      expect(result.body.conflicts).toEqual([]);
      expect(result.body.refused).toHaveLength(1);
      expect(result.body.refused[0]).toMatchObject({
        id: row.newDocumentState.id,
        message: expect.stringMatching(/\w+ \w+/),
      });
      return { code: result.body.refused[0]?.code, stored: (await countCases()) - before };
    };

    it('a document that breaks the schema: validation_failed', async () => {
      const bad = {
        ...newCase(tech1),
        priority: 'whenever',
        reporterPhone: 'call me',
      } as unknown as WireDoc<CaseDoc>;
      const outcome = await refusedCode(tech1, { newDocumentState: bad, assumedMasterState: null });
      expect(outcome).toEqual({ code: 'validation_failed', stored: 0 });
      expect((await getCaseById(server.app, super1, bad.id)).status).toBe(404);
    });

    it('an unknown extra field: validation_failed', async () => {
      const bad = { ...newCase(tech1), secretFlag: true } as unknown as WireDoc<CaseDoc>;
      expect(await refusedCode(tech1, { newDocumentState: bad, assumedMasterState: null })).toEqual({
        code: 'validation_failed',
        stored: 0,
      });
    });

    it('a forged server-owned field on a new case: server_owned_field', async () => {
      const forged = newCase(tech1, {
        serverUpdatedAt: 99_999_999_999_999,
        acknowledgedUpdatedAt: '2026-01-01T00:00:00.000Z',
      });
      expect(await refusedCode(tech1, { newDocumentState: forged, assumedMasterState: null })).toEqual({
        code: 'server_owned_field',
        stored: 0,
      });
    });

    it('a forged server-owned field on an existing case: server_owned_field, master unchanged', async () => {
      const doc = newCase(tech1);
      await push(server.app, tech1, [{ newDocumentState: doc, assumedMasterState: null }]);
      const master = (await getCaseById(server.app, tech1, doc.id)).body;
      const forged = edited(master, {
        sla: { firstResponseDueAt: null, resolutionDueAt: null, state: 'on_track' },
        subject: 'changed',
      });
      expect(await refusedCode(tech1, { newDocumentState: forged, assumedMasterState: master })).toEqual({
        code: 'server_owned_field',
        stored: 0,
      });
      expect((await getCaseById(server.app, tech1, doc.id)).body).toEqual(master);
    });

    it("a new case created in someone else's name: forbidden", async () => {
      const forged = newCase(tech1, { createdBy: USER_IDS.super1 });
      expect(await refusedCode(tech1, { newDocumentState: forged, assumedMasterState: null })).toEqual({
        code: 'forbidden',
        stored: 0,
      });
    });

    it('an illegal status change: invalid_transition, master unchanged', async () => {
      const doc = newCase(tech1);
      await push(server.app, tech1, [{ newDocumentState: doc, assumedMasterState: null }]);
      const master = (await getCaseById(server.app, tech1, doc.id)).body;
      const illegal = edited(master, { status: 'reopened' });
      expect(await refusedCode(tech1, { newDocumentState: illegal, assumedMasterState: master })).toEqual({
        code: 'invalid_transition',
        stored: 0,
      });
      expect((await getCaseById(server.app, tech1, doc.id)).body.status).toBe('new');
    });

    it('a tracking code that fails its check character: validation_failed', async () => {
      const doc = newCase(tech1);
      const broken = {
        ...doc,
        trackingCode: doc.trackingCode.slice(0, -1) + (doc.trackingCode.endsWith('0') ? '1' : '0'),
      };
      expect(await refusedCode(tech1, { newDocumentState: broken, assumedMasterState: null })).toEqual({
        code: 'validation_failed',
        stored: 0,
      });
    });

    it('a case pointing at an unknown template or at equipment of another merchant: validation_failed', async () => {
      const unknownTemplate = newCase(tech1, { templateId: 'tpl-does-not-exist' });
      expect(
        await refusedCode(tech1, { newDocumentState: unknownTemplate, assumedMasterState: null }),
      ).toEqual({ code: 'validation_failed', stored: 0 });
      const wrongEquipment = newCase(tech1, { merchantId: 'mer-002', equipmentId: 'eq-001-pos' });
      expect(
        await refusedCode(tech1, { newDocumentState: wrongEquipment, assumedMasterState: null }),
      ).toEqual({ code: 'validation_failed', stored: 0 });
    });

    it('a tracking code another case already holds: validation_failed', async () => {
      const holder = newCase(tech1);
      await push(server.app, tech1, [{ newDocumentState: holder, assumedMasterState: null }]);
      const copy = newCase(tech1, { trackingCode: holder.trackingCode });
      expect(await refusedCode(tech1, { newDocumentState: copy, assumedMasterState: null })).toEqual({
        code: 'validation_failed',
        stored: 0,
      });
    });

    it('keeps the good rows of a batch and refuses only the bad ones', async () => {
      const good = newCase(tech1);
      const bad = newCase(tech1, { createdBy: USER_IDS.tech2 });
      const result = await push(server.app, tech1, [
        { newDocumentState: good, assumedMasterState: null },
        { newDocumentState: bad, assumedMasterState: null },
      ]);
      expect(result.body.refused.map((r) => [r.id, r.code])).toEqual([[bad.id, 'forbidden']]);
      expect((await getCaseById(server.app, tech1, good.id)).status).toBe(200);
    });

    it('a push body that is not rows: 400 with a code, nothing stored', async () => {
      const before = await countCases();
      for (const payload of [
        { documents: [] },
        [{ newDocumentState: { subject: 'no id' }, assumedMasterState: null }],
      ]) {
        const response = await server.app.inject({
          method: 'POST',
          url: '/api/replication/cases/push',
          headers: bearer(tech1),
          payload,
        });
        expect(response.statusCode).toBe(400);
        expect(['bad_request', 'validation_failed']).toContain(response.json().error.code);
      }
      const tooMany = Array.from({ length: PUSH_BATCH_MAX + 1 }, () => ({
        newDocumentState: newCase(tech1),
        assumedMasterState: null,
      }));
      const response = await server.app.inject({
        method: 'POST',
        url: '/api/replication/cases/push',
        headers: bearer(tech1),
        payload: tooMany,
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.code).toBe('bad_request');
      expect(await countCases()).toBe(before);
    });

    it('a 10 MB body: 413 payload_too_large, nothing stored', async () => {
      const before = await countCases();
      const huge = newCase(tech1, { description: 'x'.repeat(10 * 1024 * 1024) });
      const response = await server.app.inject({
        method: 'POST',
        url: '/api/replication/cases/push',
        headers: { ...bearer(tech1), 'content-type': 'application/json' },
        payload: JSON.stringify([{ newDocumentState: huge, assumedMasterState: null }]),
      });
      expect(response.statusCode).toBe(413);
      expect(response.json()).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
      expect(await countCases()).toBe(before);
    });

    it('an unauthenticated push: 401, nothing stored', async () => {
      const before = await countCases();
      const response = await server.app.inject({
        method: 'POST',
        url: '/api/replication/cases/push',
        payload: [{ newDocumentState: newCase(tech1), assumedMasterState: null }],
      });
      expect(response.statusCode).toBe(401);
      expect(await countCases()).toBe(before);
    });
  });

  it('limits pull, GET and writes to what each role may see', async () => {
    const teh = newCase(branch1, { branchId: BRANCH_IDS.tehranVanak });
    const isf = newCase(branch2, { branchId: BRANCH_IDS.isfahanChaharbagh });
    await push(server.app, branch1, [{ newDocumentState: teh, assumedMasterState: null }]);
    await push(server.app, branch2, [{ newDocumentState: isf, assumedMasterState: null }]);
    // The supervisor assigns the Isfahan case to tech2.
    const isfMaster = (await getCaseById(server.app, super1, isf.id)).body;
    clock.advance(1000);
    await push(server.app, super1, [
      { newDocumentState: edited(isfMaster, { assigneeId: USER_IDS.tech2 }), assumedMasterState: isfMaster },
    ]);

    const visible = async (session: AuthSession) =>
      new Set((await pullAll(server.app, session, PULL_BATCH_MAX)).documents.map((d) => d.id));
    const [b1, b2, t1, t2, sup] = await Promise.all([branch1, branch2, tech1, tech2, super1].map(visible));
    expect(sup!.has(teh.id) && sup!.has(isf.id)).toBe(true);
    expect([b1!.has(teh.id), b1!.has(isf.id)]).toEqual([true, false]);
    expect([b2!.has(teh.id), b2!.has(isf.id)]).toEqual([false, true]);
    expect([t1!.has(teh.id), t1!.has(isf.id)]).toEqual([false, false]);
    expect([t2!.has(teh.id), t2!.has(isf.id)]).toEqual([false, true]);
    for (const doc of (await pullAll(server.app, tech1, PULL_BATCH_MAX)).documents) {
      expect(doc.createdBy === USER_IDS.tech1 || doc.assigneeId === USER_IDS.tech1).toBe(true);
    }

    const hidden = await getCaseById(server.app, tech1, isf.id);
    expect(hidden.status).toBe(404);
    expect(hidden.body.error?.code).toBe('not_found');

    // Writing to a case outside one's scope is refused, even with the right assumed master.
    const current = (await getCaseById(server.app, super1, teh.id)).body;
    const result = await push(server.app, tech1, [
      { newDocumentState: edited(current, { subject: 'not mine' }), assumedMasterState: current },
    ]);
    expect(result.body.refused.map((r) => r.code)).toEqual(['forbidden']);
    expect(result.body.conflicts).toEqual([]);
  });

  it('rejects unknown collections and bad pull queries as JSON errors', async () => {
    const unknown = await server.app.inject({
      method: 'GET',
      url: '/api/replication/widgets/pull',
      headers: bearer(tech1),
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('unknown_collection');
    const badQuery = await server.app.inject({
      method: 'GET',
      url: '/api/replication/cases/pull?limit=5000',
      headers: bearer(tech1),
    });
    expect(badQuery.statusCode).toBe(400);
    expect(badQuery.json().error.code).toBe('bad_request');
    const halfCheckpoint = await server.app.inject({
      method: 'GET',
      url: '/api/replication/cases/pull?serverUpdatedAt=5',
      headers: bearer(tech1),
    });
    expect(halfCheckpoint.statusCode).toBe(400);
  });

  it('serves reference data, health, and JSON 404s and parse errors', async () => {
    const reference = await server.app.inject({
      method: 'GET',
      url: '/api/reference',
      headers: bearer(tech1),
    });
    const data = reference.json();
    expect([data.templates.length, data.branches.length, data.merchants.length]).toEqual([11, 2, 20]); // 10 request types + the survey call-back
    expect(data.equipment.length).toBeGreaterThanOrEqual(20);
    // The engine's SLA rules, so a client computes the same provisional due times offline.
    expect(data.sla).toMatchObject({
      defaultCalendarId: 'cal-tehran',
      duplicateWindowMs: 7 * 24 * 3_600_000,
    });
    expect(data.sla.targets.targets.length).toBeGreaterThan(100);
    const health = await server.app.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toEqual({ ok: true, database: backend.name, version: expect.any(String) });
    const missing = await server.app.inject({ method: 'GET', url: '/api/nothing-here' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    const badJson = await server.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"username":',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.code).toBe('bad_request');
  });
});
