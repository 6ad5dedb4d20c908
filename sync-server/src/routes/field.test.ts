/**
 * Field workflows on the server (issue 5, parts 4–6) on PGlite and, when the test setup started
 * one, PostgreSQL, with an injected clock: expenses decided only by the submitter's supervisor with
 * a notification; missions approved by someone other than their creator, issued as an order with a
 * number, the report filed onto the cases' timelines; equipment swaps updating both devices; the
 * device and merchant timelines scoped like replication; a merchant's devices following it to
 * another region; knowledge ranking.
 */
import { randomUUID } from 'node:crypto';
import type { AuthSession, CaseDoc } from '@emdad/domain';
import type { MissionExpenseTotalsResponse, TimelineResponse, TopArticle } from '@emdad/domain/field-api';
import type { EquipmentHistoryEntry, MissionOrder } from '@emdad/domain/model/index';
import { BRANCH_IDS, EQUIPMENT_IDS, MERCHANT_IDS, REGION_IDS, TEMPLATE_IDS, USER_IDS } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncServer, type SyncServer } from '../server.ts';
import {
  backends,
  bearer,
  login,
  manualClock,
  newCase,
  pullCollection,
  push,
  pushTo,
} from '../test-support.ts';

type Doc = Record<string, unknown> & { id: string; serverUpdatedAt?: number | null; _deleted?: boolean };
const USERS = ['tech1', 'tech2', 'tech3', 'branch1', 'branch2', 'super1', 'super2', 'admin1'] as const;
type Username = (typeof USERS)[number];

describe.each(backends().map((b) => [b.name, b] as const))('field workflows on %s', (_name, backend) => {
  const clock = manualClock();
  let server: SyncServer;
  const s = {} as Record<Username, AuthSession>;
  const iso = () => new Date(clock.now()).toISOString();

  async function stored(collection: string, id: string): Promise<Doc> {
    const rows = await server.db.query<{ doc: Doc; server_updated_at: unknown; deleted: boolean }>(
      collection === 'cases'
        ? 'SELECT doc, server_updated_at, deleted FROM cases WHERE id = $1'
        : 'SELECT doc, server_updated_at, deleted FROM documents WHERE collection = $2 AND id = $1',
      collection === 'cases' ? [id] : [id, collection],
    );
    const row = rows[0];
    if (!row) throw new Error(`no stored ${collection} ${id}`);
    return { ...row.doc, serverUpdatedAt: Number(row.server_updated_at), _deleted: row.deleted };
  }

  type Outcome = { code: string; sentence?: { fa: string; en: string } };
  function outcome(result: Awaited<ReturnType<typeof pushTo>>): Outcome {
    if (result.status !== 200) return { code: `http_${result.status}` };
    const refused = result.body.refused[0] as
      { code: string; sentence?: { fa: string; en: string } } | undefined;
    if (refused) return { code: refused.code, ...(refused.sentence ? { sentence: refused.sentence } : {}) };
    if (result.body.conflicts[0]) return { code: 'conflict' };
    return { code: 'accepted' };
  }

  async function edit(
    user: Username,
    collection: string,
    id: string,
    changes: Partial<Doc>,
  ): Promise<Outcome> {
    clock.advance(1000);
    const master = await stored(collection, id);
    const next = { ...master, ...changes, updatedAt: iso() };
    return outcome(
      await pushTo(server.app, s[user], collection, [{ newDocumentState: next, assumedMasterState: master }]),
    );
  }

  async function create(user: Username, collection: string, doc: Doc): Promise<Outcome> {
    clock.advance(1000);
    return outcome(
      await pushTo(server.app, s[user], collection, [
        { newDocumentState: { ...doc, _deleted: false }, assumedMasterState: null },
      ]),
    );
  }

  async function get<T>(user: Username, url: string): Promise<{ status: number; body: T }> {
    const response = await server.app.inject({ method: 'GET', url, headers: bearer(s[user]) });
    return { status: response.statusCode, body: response.json<T>() };
  }

  async function createCase(user: Username, overrides: Partial<CaseDoc> = {}): Promise<CaseDoc> {
    const doc = newCase(s[user], overrides);
    const result = await push(server.app, s[user], [{ newDocumentState: doc, assumedMasterState: null }]);
    expect(result.body.refused).toEqual([]);
    return doc;
  }

  function expense(submitterId: string, overrides: Partial<Doc> = {}): Doc {
    return {
      id: `exp-${randomUUID()}`,
      missionId: null,
      submitterId,
      category: 'transport',
      amount: 1_500_000,
      currency: 'IRR',
      description: 'Taxi to the merchant',
      hasReceipt: false,
      status: 'draft',
      submittedAt: null,
      decidedBy: null,
      decidedAt: null,
      rejectionReason: null,
      createdAt: iso(),
      updatedAt: iso(),
      ...overrides,
    };
  }

  function mission(createdBy: string, overrides: Partial<Doc> = {}): Doc {
    return {
      id: `mis-${randomUUID()}`,
      title: 'Replace the PinPad at Aftab Supermarket',
      status: 'draft',
      createdBy,
      assigneeId: USER_IDS.tech1,
      place: 'Vanak Square, Tehran',
      caseIds: [],
      windowStart: '2026-11-24T05:00:00.000Z',
      windowEnd: '2026-11-24T09:00:00.000Z',
      approvedBy: null,
      approvedAt: null,
      reportActivities: [],
      revisitReason: null,
      createdAt: iso(),
      updatedAt: iso(),
      ...overrides,
    };
  }

  async function notificationsOf(user: Username, kind: string): Promise<Doc[]> {
    const { documents } = await pullCollection(server.app, s[user], 'notifications');
    return documents.filter((d) => d.kind === kind);
  }

  async function auditRefusals(docId: string): Promise<{ code: string; user_id: string }[]> {
    return await server.db.query<{ code: string; user_id: string }>(
      "SELECT code, user_id FROM audit_log WHERE doc_id = $1 AND action = 'refused' ORDER BY id",
      [docId],
    );
  }

  beforeAll(async () => {
    server = await createSyncServer({
      database: await backend.freshDatabase('field'),
      seed: 'demo',
      now: clock.now,
      loginRateLimitPerMinute: 1000,
      rendererDist: false,
    });
    for (const user of USERS) s[user] = await login(server.app, user);
  });

  afterAll(async () => {
    await server?.close();
  });

  describe('expenses', () => {
    it('are decided only by the submitter’s supervisor, never the submitter; the decision notifies the submitter', async () => {
      const e = expense(USER_IDS.tech1, { status: 'submitted', submittedAt: iso() });
      expect((await create('tech1', 'expenses', e)).code).toBe('accepted');
      const decision = { status: 'approved', decidedBy: USER_IDS.tech1, decidedAt: iso() };
      // The submitter cannot decide (approval fields are a supervisor's), another team's supervisor
      // cannot see it, the submitter's supervisor can.
      expect((await edit('tech1', 'expenses', e.id, decision)).code).toBe('approval_field');
      expect((await edit('super2', 'expenses', e.id, { ...decision, decidedBy: USER_IDS.super2 })).code).toBe(
        'out_of_scope',
      );
      expect(
        (
          await edit('super1', 'expenses', e.id, {
            ...decision,
            decidedBy: USER_IDS.super1,
            decidedAt: iso(),
          })
        ).code,
      ).toBe('accepted');
      expect((await stored('expenses', e.id)).status).toBe('approved');
      const [note, ...more] = (await notificationsOf('tech1', 'expense_decision')).filter((n) =>
        String(n.link).endsWith(e.id),
      );
      expect(more).toEqual([]);
      expect(note).toMatchObject({ userId: USER_IDS.tech1, title: { en: 'Your expense was approved' } });
      expect((note!.body as { fa: string }).fa).toContain('۱٬۵۰۰٬۰۰۰');
      // Nobody else receives it.
      expect((await notificationsOf('super1', 'expense_decision')).length).toBe(0);
      expect((await auditRefusals(e.id)).map((r) => [r.code, r.user_id])).toEqual([
        ['approval_field', USER_IDS.tech1],
        ['out_of_scope', USER_IDS.super2],
      ]);
    });

    it('a supervisor never decides their own expense: the refusal carries the machine’s fa/en sentence', async () => {
      // super1 belongs to a team super1 supervises: still not their own approver.
      const e = expense(USER_IDS.super1, { status: 'submitted', submittedAt: iso() });
      expect((await create('super1', 'expenses', e)).code).toBe('accepted');
      const refused = await edit('super1', 'expenses', e.id, {
        status: 'approved',
        decidedBy: USER_IDS.super1,
        decidedAt: iso(),
      });
      expect(refused.code).toBe('invalid_transition');
      expect(refused.sentence?.en).toMatch(/cannot decide on your own expense/);
      expect(refused.sentence?.fa).toMatch(/سرپرست/);
      expect((await auditRefusals(e.id)).map((r) => r.code)).toEqual(['invalid_transition']);
    });

    it('needs a receipt (an attachment once the document lists them) above the threshold; category limits hold', async () => {
      const big = expense(USER_IDS.tech1, { amount: 6_000_000, status: 'submitted', submittedAt: iso() });
      const noReceipt = await create('tech1', 'expenses', big);
      expect(noReceipt.code).toBe('invalid_transition');
      expect(noReceipt.sentence?.en).toMatch(/receipt/);
      // Claiming a receipt without attaching one does not count.
      expect((await create('tech1', 'expenses', { ...big, hasReceipt: true, attachments: [] })).code).toBe(
        'invalid_transition',
      );
      const overLimit = await create('tech1', 'expenses', {
        ...big,
        id: `exp-${randomUUID()}`,
        category: 'meals',
        amount: 12_000_000,
        hasReceipt: true,
      });
      expect(overLimit.sentence?.en).toMatch(/above the limit/);
      expect((await create('tech1', 'expenses', { ...big, hasReceipt: true })).code).toBe('accepted');
    });

    it('a rejection names its reason in the notification; totals per mission count what the caller may read', async () => {
      const m = mission(USER_IDS.tech1);
      expect((await create('tech1', 'missions', m)).code).toBe('accepted');
      const a = expense(USER_IDS.tech1, {
        missionId: m.id,
        amount: 2_000_000,
        status: 'submitted',
        submittedAt: iso(),
      });
      const b = expense(USER_IDS.tech1, {
        missionId: m.id,
        category: 'meals',
        amount: 700_000,
        status: 'submitted',
        submittedAt: iso(),
      });
      const c = expense(USER_IDS.tech1, { missionId: m.id, amount: 300_000 });
      for (const e of [a, b, c]) expect((await create('tech1', 'expenses', e)).code).toBe('accepted');
      expect(
        (
          await edit('super1', 'expenses', a.id, {
            status: 'approved',
            decidedBy: USER_IDS.super1,
            decidedAt: iso(),
          })
        ).code,
      ).toBe('accepted');
      expect(
        (
          await edit('super1', 'expenses', b.id, {
            status: 'rejected',
            decidedBy: USER_IDS.super1,
            decidedAt: iso(),
          })
        ).code,
      ).toBe(
        'invalid_transition', // a rejection needs a reason
      );
      expect(
        (
          await edit('super1', 'expenses', b.id, {
            status: 'rejected',
            decidedBy: USER_IDS.super1,
            decidedAt: iso(),
            rejectionReason: 'Meals are covered by the daily allowance',
          })
        ).code,
      ).toBe('accepted');
      const rejected = (await notificationsOf('tech1', 'expense_decision')).find((n) =>
        String(n.link).endsWith(b.id),
      );
      expect((rejected?.body as { en: string }).en).toContain('Meals are covered by the daily allowance');

      const totals = await get<MissionExpenseTotalsResponse>(
        'super1',
        `/api/missions/${m.id}/expenses/totals`,
      );
      expect(totals.status).toBe(200);
      expect(totals.body).toMatchObject({
        missionId: m.id,
        currency: 'IRR',
        count: 3,
        total: 3_000_000,
        byStatus: { draft: 300_000, submitted: 0, approved: 2_000_000, rejected: 700_000 },
        approvedByCategory: { transport: 2_000_000 },
      });
      expect((await get('tech1', `/api/missions/${m.id}/expenses/totals`)).status).toBe(200);
      expect((await get('tech3', `/api/missions/${m.id}/expenses/totals`)).status).toBe(404);
      expect((await get('super2', `/api/missions/${m.id}/expenses/totals`)).status).toBe(404);
    });
  });

  describe('missions', () => {
    it('are approved by a supervisor other than the creator, issued as a numbered order, and the report lands on the cases', async () => {
      const kase = await createCase('tech1', { branchId: BRANCH_IDS.tehranVanak });
      // A mission a supervisor created cannot be approved by that supervisor.
      const own = mission(USER_IDS.super1, { caseIds: [kase.id] });
      expect((await create('super1', 'missions', own)).code).toBe('accepted');
      expect(
        (await edit('super1', 'missions', own.id, { approvedBy: USER_IDS.super1, approvedAt: iso() })).code,
      ).toBe('approval_field');
      // A technician's mission: never self-approved, issued only once approved.
      const m = mission(USER_IDS.tech1, { caseIds: [kase.id] });
      expect((await create('tech1', 'missions', m)).code).toBe('accepted');
      expect(
        (await edit('tech1', 'missions', m.id, { approvedBy: USER_IDS.tech1, approvedAt: iso() })).code,
      ).toBe('approval_field');
      const early = await edit('tech1', 'missions', m.id, { status: 'issued' });
      expect(early.code).toBe('invalid_transition');
      expect(early.sentence?.fa).toBeTruthy();
      expect(
        (
          await edit('super1', 'missions', m.id, {
            approvedBy: USER_IDS.super1,
            approvedAt: iso(),
            status: 'issued',
          })
        ).code,
      ).toBe('accepted');
      const issued = await stored('missions', m.id);
      const orders = issued.orders as MissionOrder[];
      expect(orders).toHaveLength(1);
      expect(orders[0]).toMatchObject({
        issuedBy: USER_IDS.super1,
        approvedBy: USER_IDS.super1,
        assigneeId: USER_IDS.tech1,
        caseIds: [kase.id],
        place: 'Vanak Square, Tehran',
      });
      expect(orders[0]!.number).toMatch(/^MO-1405-\d{6}$/);
      expect(orders[0]!.issuedAt).toBe(new Date(clock.now()).toISOString());
      const [order] = (await notificationsOf('tech1', 'mission')).filter(
        (n) => n.link === `/missions/${m.id}`,
      );
      expect((order?.title as { en: string }).en).toBe(`Mission order ${orders[0]!.number}`);

      // The order is the server's: a push cannot change it, and a push that leaves it out keeps it.
      const forged = [{ ...orders[0]!, place: 'elsewhere' }];
      expect((await edit('tech1', 'missions', m.id, { orders: forged })).code).toBe('server_owned_field');
      expect((await edit('tech1', 'missions', m.id, { orders: undefined, status: 'in_progress' })).code).toBe(
        'accepted',
      );
      expect((await stored('missions', m.id)).orders).toEqual(orders);

      // The report: activities on the mission's cases only; filing writes them onto the case timelines.
      const activity = (caseId: string, id: string, minutes: number | null) => ({
        id,
        caseId,
        text: 'Replaced the PinPad cable; test transaction approved.',
        minutes,
        at: iso(),
      });
      expect(
        (await edit('tech1', 'missions', m.id, { reportActivities: [activity('other-case', 'a1', 30)] }))
          .code,
      ).toBe('validation_failed');
      expect(
        (
          await edit('tech1', 'missions', m.id, {
            reportActivities: [activity(kase.id, 'a1', 45), activity(kase.id, 'a2', null)],
            status: 'completed',
          })
        ).code,
      ).toBe('accepted');
      const { documents: events } = await pullCollection(server.app, s.tech1, 'case_events');
      const filed = events.filter(
        (e) => e.caseId === kase.id && String(e.body).startsWith(`[${orders[0]!.number}]`),
      );
      expect(filed.map((e) => [e.kind, e.minutes, e.authorId]).sort()).toEqual([
        ['comment', null, USER_IDS.tech1],
        ['time_logged', 45, USER_IDS.tech1],
      ]);
      // A completed mission is final.
      expect((await edit('tech1', 'missions', m.id, { title: 'changed' })).code).toBe('forbidden');
    });

    it('take comments from related units: the case’s branch may comment, another branch may not', async () => {
      const kase = await createCase('branch1', {
        branchId: BRANCH_IDS.tehranVanak,
        assigneeId: USER_IDS.tech1,
      });
      const m = mission(USER_IDS.tech1, { caseIds: [kase.id] });
      expect((await create('tech1', 'missions', m)).code).toBe('accepted');
      const post = (user: Username, payload: unknown) =>
        server.app.inject({
          method: 'POST',
          url: `/api/missions/${m.id}/comments`,
          headers: bearer(s[user]),
          payload: payload as Record<string, unknown>,
        });
      const id = randomUUID();
      const first = await post('branch1', { id, text: 'The merchant opens at 10:00, not 09:00.' });
      expect(first.statusCode).toBe(200);
      expect(
        (await post('branch1', { id, text: 'The merchant opens at 10:00, not 09:00.' })).statusCode,
      ).toBe(200);
      expect((await post('branch2', { text: 'not ours' })).statusCode).toBe(404);
      expect((await post('branch1', { text: '' })).statusCode).toBe(400);
      const comments = (await stored('missions', m.id)).comments as { authorId: string; unit: string }[];
      expect(comments).toEqual([
        expect.objectContaining({ id, authorId: USER_IDS.branch1, unit: BRANCH_IDS.tehranVanak }),
      ]);
      // The technician receives the comment through replication.
      const { documents } = await pullCollection(server.app, s.tech1, 'missions');
      expect(documents.find((d) => d.id === m.id)?.comments).toHaveLength(1);
    });
  });

  describe('equipment', () => {
    const spareSerial = 'SPARE-S90-0001';
    const spareId = 'eq-spare-s90-1';

    it('a swap pushed for one device installs the replacement: both histories name the other device', async () => {
      expect(
        (
          await create('admin1', 'equipment', {
            id: spareId,
            merchantId: null,
            kind: 'pos',
            serial: spareSerial,
            model: 'PAX S90',
            vendor: 'PAX',
            terminalId: null,
            psp: null,
            status: 'in_stock',
            firmware: 'S90_IR_3.14.01',
            statusReason: null,
            replacementSerial: null,
            updatedAt: iso(),
          })
        ).code,
      ).toBe('accepted');
      const before = await pullCollection(server.app, s.tech1, 'equipment');
      expect(before.documents.map((d) => d.id)).not.toContain(spareId); // in stock: no region yet

      const wrong = await edit('tech1', 'equipment', EQUIPMENT_IDS.paxS90, {
        status: 'swapped_out',
        replacementSerial: 'NO-SUCH-SERIAL',
      });
      expect(wrong.code).toBe('validation_failed');
      expect(wrong.sentence?.fa).toContain('NO-SUCH-SERIAL');
      expect(
        (
          await edit('tech1', 'equipment', EQUIPMENT_IDS.paxS90, {
            status: 'swapped_out',
            replacementSerial: spareSerial,
          })
        ).code,
      ).toBe('accepted');

      const outgoing = await stored('equipment', EQUIPMENT_IDS.paxS90);
      const incoming = await stored('equipment', spareId);
      const swapOut = (outgoing.history as EquipmentHistoryEntry[]).at(-1)!;
      const swapIn = (incoming.history as EquipmentHistoryEntry[]).at(-1)!;
      expect(swapOut).toMatchObject({
        type: 'swap_out',
        otherSerial: spareSerial,
        toStatus: 'swapped_out',
        merchantId: MERCHANT_IDS.tehranSupermarket,
        byUserId: USER_IDS.tech1,
      });
      expect(swapIn).toMatchObject({
        id: `${swapOut.id}-in`,
        type: 'swap_in',
        otherSerial: outgoing.serial,
        fromStatus: 'in_stock',
        toStatus: 'installed',
        byUserId: USER_IDS.tech1,
      });
      expect(incoming).toMatchObject({
        status: 'installed',
        merchantId: MERCHANT_IDS.tehranSupermarket,
        regionId: REGION_IDS.tehran,
        branchId: BRANCH_IDS.tehranVanak,
      });
      // Both writes are audited: the push as the technician, the follow-up as the server.
      const audit = await server.db.query<{ user_id: string }>(
        "SELECT user_id FROM audit_log WHERE collection = 'equipment' AND doc_id = $1 AND action = 'update'",
        [spareId],
      );
      expect(audit.map((a) => a.user_id)).toEqual(['system']);
      // The replacement reached the technician's region: the next pull brings it.
      const after = await pullCollection(server.app, s.tech1, 'equipment', before.checkpoint);
      expect(after.documents.find((d) => d.id === spareId)).toMatchObject({ status: 'installed' });
      // Running the follow-up again changes nothing.
      const stamp = (await stored('equipment', spareId)).serverUpdatedAt;
      await push(server.app, s.tech1, []);
      expect((await stored('equipment', spareId)).serverUpdatedAt).toBe(stamp);
    });

    it('timelines merge life cycle, diagnostics with their verdict and cases — each scoped like replication', async () => {
      const mine = await createCase('tech1', { equipmentId: EQUIPMENT_IDS.paxS90 });
      const branchCase = await createCase('branch1', { equipmentId: EQUIPMENT_IDS.paxS90 });
      const run = {
        id: `dia-${randomUUID()}`,
        caseId: mine.id,
        equipmentId: EQUIPMENT_IDS.paxS90,
        technicianId: USER_IDS.tech1,
        device: { kind: 'pos', model: 'PAX S90', serial: '0824100267' },
        startedAt: iso(),
        finishedAt: iso(),
        outcome: 'failed',
        steps: [{ id: 'printer', name: 'Printer', status: 'failed', message: 'paper out', durationMs: 30 }],
        rawFrames: [],
        createdAt: iso(),
        updatedAt: iso(),
      };
      expect((await create('tech1', 'diagnostics', run)).code).toBe('accepted');

      const tech = await get<TimelineResponse>('tech1', `/api/equipment/${EQUIPMENT_IDS.paxS90}/timeline`);
      expect(tech.status).toBe(200);
      const types = tech.body.entries.map((e) => [e.type, e.id]);
      expect(types).toContainEqual(['diagnostics', run.id]);
      expect(types).toContainEqual(['case', mine.id]);
      expect(types).not.toContainEqual(['case', branchCase.id]); // a technician sees only their cases
      expect(tech.body.entries.find((e) => e.id === run.id)).toMatchObject({
        verdict: 'fail',
        caseId: mine.id,
      });
      expect(tech.body.entries.some((e) => e.type === 'swap_out')).toBe(true);
      const times = tech.body.entries.map((e) => Date.parse(e.at));
      expect(times).toEqual([...times].sort((a, b) => a - b));

      const supervisor = await get<TimelineResponse>(
        'super1',
        `/api/equipment/${EQUIPMENT_IDS.paxS90}/timeline`,
      );
      expect(supervisor.body.entries.map((e) => e.id)).toContain(branchCase.id);
      // Outside the caller's regions: answered like a missing device.
      expect((await get('tech2', `/api/equipment/${EQUIPMENT_IDS.paxS90}/timeline`)).status).toBe(404);
      expect((await get('tech2', `/api/equipment/no-such-device/timeline`)).status).toBe(404);

      // The merchant's timeline holds both devices of the swap and the merchant's cases.
      const merchant = await get<TimelineResponse>(
        'super1',
        `/api/merchants/${MERCHANT_IDS.tehranSupermarket}/timeline`,
      );
      expect(merchant.status).toBe(200);
      const kinds = merchant.body.entries.map((e) => `${e.type}:${e.equipmentId}`);
      expect(kinds).toContain(`swap_out:${EQUIPMENT_IDS.paxS90}`);
      expect(kinds).toContain(`swap_in:${spareId}`);
      expect(merchant.body.entries.map((e) => e.id)).toEqual(
        expect.arrayContaining([mine.id, branchCase.id, run.id]),
      );
      expect((await get('tech2', `/api/merchants/${MERCHANT_IDS.tehranSupermarket}/timeline`)).status).toBe(
        404,
      );
      expect((await get('branch2', `/api/merchants/${MERCHANT_IDS.tehranSupermarket}/timeline`)).status).toBe(
        404,
      );
      const limited = await get<TimelineResponse>(
        'super1',
        `/api/merchants/${MERCHANT_IDS.tehranSupermarket}/timeline?limit=2`,
      );
      expect(limited.body).toMatchObject({ truncated: true });
      expect(limited.body.entries).toEqual(merchant.body.entries.slice(-2));
    });

    it('a merchant moved to another region takes its devices along; readers who lose them get tombstones', async () => {
      const merchantId = MERCHANT_IDS.tehranPharmacy;
      const tech1Before = await pullCollection(server.app, s.tech1, 'equipment');
      const tech2Before = await pullCollection(server.app, s.tech2, 'equipment');
      const devices = tech1Before.documents.filter((d) => d.merchantId === merchantId).map((d) => d.id);
      expect(devices.length).toBeGreaterThan(0);
      expect(
        (
          await edit('admin1', 'merchants', merchantId, {
            branchId: BRANCH_IDS.isfahanChaharbagh,
            regionId: REGION_IDS.isfahan,
          })
        ).code,
      ).toBe('accepted');
      for (const id of devices)
        expect(await stored('equipment', id)).toMatchObject({
          regionId: REGION_IDS.isfahan,
          branchId: BRANCH_IDS.isfahanChaharbagh,
        });
      const tech1After = await pullCollection(server.app, s.tech1, 'equipment', tech1Before.checkpoint);
      expect(
        tech1After.documents
          .filter((d) => devices.includes(d.id))
          .map((d) => [d.id, d._deleted])
          .sort(),
      ).toEqual(devices.map((id) => [id, true]).sort());
      const tech2After = await pullCollection(server.app, s.tech2, 'equipment', tech2Before.checkpoint);
      expect(
        tech2After.documents
          .filter((d) => devices.includes(d.id) && !d._deleted)
          .map((d) => d.id)
          .sort(),
      ).toEqual([...devices].sort());
    });
  });

  describe('knowledge', () => {
    it('ranks published articles by cases solved, then linked, per template, device model and error code', async () => {
      const a = await createCase('tech1', {
        templateId: TEMPLATE_IDS.posNoPrint,
        equipmentId: EQUIPMENT_IDS.paxD200PinPad,
      });
      const b = await createCase('tech1', {
        templateId: TEMPLATE_IDS.posNoPrint,
        equipmentId: EQUIPMENT_IDS.paxD200PinPad,
      });
      const link = (caseId: string, articleId: string, solved: boolean) => ({
        id: `evt-${randomUUID()}`,
        caseId,
        kind: 'article_link',
        authorId: USER_IDS.tech1,
        at: iso(),
        body: null,
        fromStatus: null,
        toStatus: solved ? 'resolved' : null,
        assigneeId: null,
        minutes: null,
        diagnosticId: null,
        articleId,
        createdAt: iso(),
        updatedAt: iso(),
      });
      const { documents: articles } = await pullCollection(server.app, s.tech1, 'kb_articles');
      const published = articles.filter((x) => x.status === 'published').map((x) => x.id);
      expect(published.length).toBeGreaterThanOrEqual(2);
      const [first, second] = published as [string, string];
      for (const e of [
        link(a.id, first, true),
        link(b.id, first, false),
        link(a.id, second, false),
        link(b.id, second, false),
      ])
        expect((await create('tech1', 'case_events', e)).code).toBe('accepted');
      const run = {
        id: `dia-${randomUUID()}`,
        caseId: a.id,
        equipmentId: EQUIPMENT_IDS.paxD200PinPad,
        technicianId: USER_IDS.tech1,
        device: { kind: 'pinpad', model: 'PAX D200 PinPad', serial: '1851707043' },
        startedAt: iso(),
        finishedAt: iso(),
        outcome: 'failed',
        steps: [{ id: 'E-KEY-07', name: 'Keypad', status: 'failed', message: null, durationMs: 10 }],
        rawFrames: [],
        createdAt: iso(),
        updatedAt: iso(),
      };
      expect((await create('tech1', 'diagnostics', run)).code).toBe('accepted');

      const top = await get<{ articles: TopArticle[] }>(
        'branch1',
        `/api/knowledge/top?templateId=${TEMPLATE_IDS.posNoPrint}&deviceModel=${encodeURIComponent('PAX D200 PinPad')}`,
      );
      expect(top.status).toBe(200);
      expect(top.body.articles.map((x) => [x.articleId, x.solved, x.linked])).toEqual([
        [first, 1, 2],
        [second, 0, 2],
      ]);
      expect(top.body.articles[0]!.current).toMatchObject({ id: first, version: expect.any(Number) });
      const byCode = await get<{ articles: TopArticle[] }>('tech1', '/api/knowledge/top?errorCode=E-KEY-07');
      expect(byCode.body.articles.map((x) => [x.articleId, x.solved, x.linked])).toEqual([
        [first, 1, 1],
        [second, 0, 1],
      ]);
      expect(
        (await get<{ articles: TopArticle[] }>('tech1', '/api/knowledge/top?errorCode=NOPE')).body.articles,
      ).toEqual([]);
      expect((await get('tech1', '/api/knowledge/top?limit=0')).status).toBe(400);
    });
  });
});
