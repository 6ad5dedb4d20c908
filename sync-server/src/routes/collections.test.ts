/**
 * The authorization matrix (role × collection × read/write, and the field-level rules), scope
 * shrink, audit and install revocation — on PGlite and, when the test setup started one, PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import type { AuthSession } from '@emdad/domain';
import { EQUIPMENT_IDS, MERCHANT_IDS, REGION_IDS, USER_IDS, merchants } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectionName } from '@emdad/domain/model/index';
import { validateCollectionDocument } from '@emdad/domain/validate';
import { createSyncServer, type SyncServer } from '../server.ts';
import { writeServerDocuments } from '../seed.ts';
import {
  backends,
  bearer,
  edited,
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

const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 8, minute)).toISOString();
const tehranMerchants = merchants.filter((m) => m.regionId === REGION_IDS.tehran).map((m) => m.id);
const isfahanMerchants = merchants.filter((m) => m.regionId === REGION_IDS.isfahan).map((m) => m.id);

function mission(createdBy: string, overrides: Partial<Doc> = {}): Doc {
  return {
    id: `mis-${randomUUID()}`,
    title: 'Visit to replace a PinPad',
    status: 'draft',
    createdBy,
    assigneeId: createdBy,
    place: 'Vanak Square',
    caseIds: [],
    windowStart: at(0),
    windowEnd: at(120),
    approvedBy: null,
    approvedAt: null,
    reportActivities: [],
    revisitReason: null,
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

function expense(submitterId: string, overrides: Partial<Doc> = {}): Doc {
  return {
    id: `exp-${randomUUID()}`,
    missionId: null,
    submitterId,
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
    createdAt: at(1),
    updatedAt: at(1),
    ...overrides,
  };
}

function caseEvent(caseId: string, authorId: string, overrides: Partial<Doc> = {}): Doc {
  return {
    id: `evt-${randomUUID()}`,
    caseId,
    kind: 'comment',
    authorId,
    at: at(2),
    body: 'Paper roll replaced; printing again.',
    fromStatus: null,
    toStatus: null,
    assigneeId: null,
    minutes: null,
    diagnosticId: null,
    articleId: null,
    createdAt: at(2),
    updatedAt: at(2),
    ...overrides,
  };
}

function diagnostic(technicianId: string, caseId: string | null): Doc {
  return {
    id: `dia-${randomUUID()}`,
    caseId,
    equipmentId: EQUIPMENT_IDS.paxS90,
    technicianId,
    device: { kind: 'pos', model: 'PAX S90', serial: '0824100267' },
    startedAt: at(3),
    finishedAt: at(4),
    outcome: 'passed',
    steps: [{ id: 'ping', name: 'Ping', status: 'passed', message: null, durationMs: 120 }],
    rawFrames: [{ at: at(3), direction: 'tx', hex: '02414203' }],
    createdAt: at(3),
    updatedAt: at(4),
  };
}

/** An answered survey of a closed case (one per case: its id is the case's id). */
function survey(caseId: string, takenBy: string): Doc {
  return {
    id: caseId,
    caseId,
    status: 'answered',
    offeredAt: at(5),
    score: 4,
    comment: null,
    channel: 'field',
    takenBy,
    answeredAt: at(5),
    updatedAt: at(5),
  };
}

function notification(userId: string): Doc {
  return {
    id: `ntf-${randomUUID()}`,
    userId,
    kind: 'assignment',
    title: { fa: 'پرونده جدید', en: 'New case' },
    body: { fa: 'یک پرونده به شما واگذار شد.', en: 'A case was assigned to you.' },
    link: null,
    createdAt: at(6),
    readAt: null,
    updatedAt: at(6),
  };
}

const wire = (doc: Doc, deleted = false) => ({ ...doc, _deleted: deleted });

describe.each(backends().map((b) => [b.name, b] as const))('collections on %s', (_name, backend) => {
  const clock = manualClock();
  let server: SyncServer;
  const s = {} as Record<Username, AuthSession>;

  /** The stored version of a document, as the admin pulls it (to push the next edit on top of it). */
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

  /** Pushes an edit of the stored version; answers the refusal code, or 'accepted'/'conflict'. */
  async function edit(
    user: Username,
    collection: string,
    id: string,
    changes: Partial<Doc>,
  ): Promise<string> {
    clock.advance(1000);
    const master = await stored(collection, id);
    const next = { ...master, ...changes, updatedAt: new Date(clock.now()).toISOString() };
    return outcome(
      await pushTo(server.app, s[user], collection, [{ newDocumentState: next, assumedMasterState: master }]),
    );
  }

  async function create(user: Username, collection: string, doc: Doc): Promise<string> {
    clock.advance(1000);
    return outcome(
      await pushTo(server.app, s[user], collection, [
        { newDocumentState: wire(doc), assumedMasterState: null },
      ]),
    );
  }

  function outcome(result: Awaited<ReturnType<typeof pushTo>>): string {
    if (result.status !== 200) return `http_${result.status}`;
    if (result.body.refused[0]) return result.body.refused[0].code;
    if (result.body.conflicts[0]) return 'conflict';
    return 'accepted';
  }

  async function visibleIds(user: Username, collection: string): Promise<string[]> {
    const { documents } = await pullCollection(server.app, s[user], collection);
    return documents.filter((d) => !d._deleted).map((d) => d.id);
  }

  const ids = {} as {
    tech1Case: string;
    tech3Case: string;
    tech1Mission: string;
    tech3Mission: string;
    tech1Expense: string;
    tech3Expense: string;
    tech1Event: string;
    tech1Diagnostic: string;
    tech1Survey: string;
    tech1Notification: string;
    super1Notification: string;
  };

  beforeAll(async () => {
    server = await createSyncServer({
      database: await backend.freshDatabase('collections'),
      seed: 'demo',
      now: clock.now,
      loginRateLimitPerMinute: 1000,
      rendererDist: false,
    });
    for (const user of USERS) s[user] = await login(server.app, user);

    const tech1Case = newCase(s.tech1, { branchId: 'br-tehran-vanak' });
    const tech3Case = newCase(s.tech3, {
      branchId: 'br-isfahan-chaharbagh',
      merchantId: MERCHANT_IDS.isfahanSupermarket,
      equipmentId: null,
    });
    for (const [session, doc] of [
      [s.tech1, tech1Case],
      [s.tech3, tech3Case],
    ] as const) {
      const result = await push(server.app, session, [{ newDocumentState: doc, assumedMasterState: null }]);
      expect(result.body.refused).toEqual([]);
    }
    ids.tech1Case = tech1Case.id;
    ids.tech3Case = tech3Case.id;

    const m1 = mission(USER_IDS.tech1, { caseIds: [tech1Case.id] });
    const m3 = mission(USER_IDS.tech3, { place: 'Chaharbagh' });
    const e1 = expense(USER_IDS.tech1);
    const e3 = expense(USER_IDS.tech3);
    const ev = caseEvent(tech1Case.id, USER_IDS.tech1);
    const dg = diagnostic(USER_IDS.tech1, tech1Case.id);
    // Surveys belong to closed cases: the server offers one when the case closes; tech1 answers it.
    const closedCase = newCase(s.tech1, { branchId: 'br-tehran-vanak', status: 'closed' });
    expect(
      (await push(server.app, s.tech1, [{ newDocumentState: closedCase, assumedMasterState: null }])).body
        .refused,
    ).toEqual([]);
    const sv = survey(closedCase.id, USER_IDS.tech1);
    const offered = await server.db.query<{ doc: Doc; server_updated_at: unknown }>(
      "SELECT doc, server_updated_at FROM documents WHERE collection = 'surveys' AND id = $1",
      [closedCase.id],
    );
    const offer: Doc | null = offered[0]
      ? { ...offered[0].doc, serverUpdatedAt: Number(offered[0].server_updated_at), _deleted: false }
      : null;
    expect(await create('tech1', 'missions', m1)).toBe('accepted');
    expect(await create('tech3', 'missions', m3)).toBe('accepted');
    expect(await create('tech1', 'expenses', e1)).toBe('accepted');
    expect(await create('tech3', 'expenses', e3)).toBe('accepted');
    expect(await create('tech1', 'case_events', ev)).toBe('accepted');
    expect(await create('tech1', 'diagnostics', dg)).toBe('accepted');
    clock.advance(1000);
    expect(
      outcome(
        await pushTo(server.app, s.tech1, 'surveys', [
          {
            newDocumentState: wire({ ...sv, offeredAt: offer?.offeredAt ?? sv.offeredAt }),
            assumedMasterState: offer,
          },
        ]),
      ),
    ).toBe('accepted');
    const n1 = notification(USER_IDS.tech1);
    const n2 = notification(USER_IDS.super1);
    await server.db.transaction((tx) => writeServerDocuments(tx, 'notifications', [n1, n2]));
    Object.assign(ids, {
      tech1Mission: m1.id,
      tech3Mission: m3.id,
      tech1Expense: e1.id,
      tech3Expense: e3.id,
      tech1Event: ev.id,
      tech1Diagnostic: dg.id,
      tech1Survey: sv.id,
      tech1Notification: n1.id,
      super1Notification: n2.id,
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('stores only documents that match their collection’s schema (seeded ones included)', async () => {
    const rows = await server.db.query<{ collection: string; doc: Doc }>(
      'SELECT collection, doc FROM documents',
    );
    expect(new Set(rows.map((r) => r.collection))).toEqual(
      new Set([
        'merchants',
        'equipment',
        'kb_articles',
        'reference',
        'missions',
        'expenses',
        'case_events',
        'diagnostics',
        'surveys',
        'notifications',
      ]),
    );
    for (const { collection, doc } of rows) {
      const result = validateCollectionDocument(collection as CollectionName, doc);
      expect(result, `${collection} ${doc.id}`).toEqual({ ok: true });
    }
  });

  describe('read matrix: each role pulls exactly its scope', () => {
    type Expect = Record<Username, boolean>;
    const who = (...names: Username[]): Expect =>
      Object.fromEntries(USERS.map((u) => [u, names.includes(u)])) as Expect;
    const rows: [string, () => string, Expect][] = [
      ['cases', () => ids.tech1Case, who('tech1', 'branch1', 'super1', 'admin1')],
      ['cases', () => ids.tech3Case, who('tech3', 'branch2', 'super1', 'super2', 'admin1')],
      ['case_events', () => ids.tech1Event, who('tech1', 'branch1', 'super1', 'admin1')],
      ['diagnostics', () => ids.tech1Diagnostic, who('tech1', 'branch1', 'super1', 'admin1')],
      ['surveys', () => ids.tech1Survey, who('tech1', 'branch1', 'super1', 'admin1')],
      ['missions', () => ids.tech1Mission, who('tech1', 'super1', 'admin1')],
      ['missions', () => ids.tech3Mission, who('tech3', 'super2', 'admin1')],
      ['expenses', () => ids.tech1Expense, who('tech1', 'super1', 'admin1')],
      ['expenses', () => ids.tech3Expense, who('tech3', 'super2', 'admin1')],
      ['notifications', () => ids.tech1Notification, who('tech1', 'admin1')],
      ['merchants', () => MERCHANT_IDS.tehranSupermarket, who('tech1', 'branch1', 'super1', 'admin1')],
      [
        'merchants',
        () => MERCHANT_IDS.isfahanSupermarket,
        who('tech2', 'tech3', 'branch2', 'super1', 'super2', 'admin1'),
      ],
      ['equipment', () => EQUIPMENT_IDS.paxS90, who('tech1', 'branch1', 'super1', 'admin1')],
      ['kb_articles', () => 'kb-pos-paper-jam', who(...USERS)],
      // A draft reaches its author (tech1) and the reviewers only.
      ['kb_articles', () => 'kb-ict250-draft', who('tech1', 'super1', 'super2', 'admin1')],
      ['reference', () => 'team-field-ops', who(...USERS)],
    ];
    it.each(rows.map(([collection, id, expected], i) => [collection, i, id, expected] as const))(
      '%s (row %i)',
      async (collection, _i, id, expected) => {
        const seen = Object.fromEntries(
          await Promise.all(
            USERS.map(async (u) => [u, (await visibleIds(u, collection)).includes(id())] as const),
          ),
        );
        expect(seen).toEqual(expected);
      },
    );

    it('technicians receive exactly the merchants of their regions', async () => {
      expect((await visibleIds('tech1', 'merchants')).sort()).toEqual([...tehranMerchants].sort());
      expect((await visibleIds('tech3', 'merchants')).sort()).toEqual([...isfahanMerchants].sort());
    });
  });

  describe('write matrix and field-level rules', () => {
    it('read-only collections refuse every role, admins included', async () => {
      for (const user of USERS) {
        expect(await edit(user, 'reference', 'team-field-ops', { name: { fa: 'x', en: 'x' } })).toBe(
          'read_only_collection',
        );
      }
    });

    it('kb_articles: a published version is frozen for everyone; only the author edits a draft (knowledge.test.ts has the workflow)', async () => {
      for (const user of USERS)
        expect(await edit(user, 'kb_articles', 'kb-pos-paper-jam', { tags: ['x'] })).toBe('forbidden');
      expect(await edit('tech2', 'kb_articles', 'kb-ict250-draft', { tags: ['x'] })).toBe('out_of_scope');
      expect(await edit('super1', 'kb_articles', 'kb-ict250-draft', { tags: ['x'] })).toBe('forbidden');
      expect(await edit('tech1', 'kb_articles', 'kb-ict250-draft', { tags: ['pos', 'ict250'] })).toBe(
        'accepted',
      );
      expect(await edit('tech1', 'kb_articles', 'kb-ict250-draft', { reviewerId: 'usr-tech1' })).toBe(
        'server_owned_field',
      );
    });

    it('merchants: branch staff of the branch, supervisors of the region and admins; technicians never', async () => {
      const id = MERCHANT_IDS.tehranSupermarket;
      expect(await edit('tech1', 'merchants', id, { address: 'tech' })).toBe('forbidden');
      expect(await edit('branch2', 'merchants', id, { address: 'other branch' })).toBe('out_of_scope');
      expect(await edit('super2', 'merchants', id, { address: 'other team' })).toBe('out_of_scope');
      expect(await edit('branch1', 'merchants', id, { address: 'Vanak Sq. no. 12' })).toBe('accepted');
      expect(await edit('super1', 'merchants', id, { customFields: { pos_count: '2' } })).toBe('accepted');
      expect(await edit('admin1', 'merchants', id, { phone: '02188776599' })).toBe('accepted');
      // A write may not move a record out of the writer's own scope.
      expect(
        await edit('branch1', 'merchants', id, {
          branchId: 'br-isfahan-chaharbagh',
          regionId: REGION_IDS.isfahan,
        }),
      ).toBe('out_of_scope');
      expect((await stored('merchants', id)).branchId).toBe('br-tehran-vanak');
    });

    it('equipment: technicians of the region through the state machine; server-owned region fields', async () => {
      const id = EQUIPMENT_IDS.paxS90;
      expect(await edit('tech2', 'equipment', id, { firmware: 'S90_IR_3.15.00' })).toBe('out_of_scope');
      expect(await edit('branch1', 'equipment', id, { firmware: 'S90_IR_3.15.00' })).toBe('forbidden');
      expect(await edit('tech1', 'equipment', id, { firmware: 'S90_IR_3.15.00' })).toBe('accepted');
      expect(await edit('tech1', 'equipment', id, { regionId: REGION_IDS.isfahan })).toBe(
        'server_owned_field',
      );
      expect(await edit('tech1', 'equipment', id, { status: 'retired' })).toBe('invalid_transition');
      expect(await edit('tech1', 'equipment', id, { status: 'in_repair' })).toBe('accepted');
      expect(await edit('tech1', 'equipment', id, { serial: '999' })).toBe('forbidden');
    });

    it('expenses: technicians file their own, never approve; only the submitter’s supervisor decides', async () => {
      const id = ids.tech1Expense;
      expect(await create('tech1', 'expenses', expense(USER_IDS.tech2))).toBe('forbidden');
      expect(await create('tech1', 'expenses', expense(USER_IDS.tech1, { decidedBy: USER_IDS.tech1 }))).toBe(
        'approval_field',
      );
      expect(await edit('tech2', 'expenses', id, { amount: 10 })).toBe('out_of_scope');
      expect(await edit('tech1', 'expenses', id, { status: 'submitted', submittedAt: at(9) })).toBe(
        'accepted',
      );
      expect(
        await edit('tech1', 'expenses', id, {
          status: 'approved',
          decidedBy: USER_IDS.tech1,
          decidedAt: at(10),
        }),
      ).toBe('approval_field');
      expect(
        await edit('super2', 'expenses', id, {
          status: 'approved',
          decidedBy: USER_IDS.super2,
          decidedAt: at(10),
        }),
      ).toBe('out_of_scope');
      expect(await edit('super1', 'expenses', id, { amount: 1 })).toBe('forbidden');
      expect(
        await edit('super1', 'expenses', id, {
          status: 'rejected',
          decidedBy: USER_IDS.super1,
          decidedAt: at(10),
        }),
      ).toBe('invalid_transition'); // no reason given
      expect(
        await edit('super1', 'expenses', id, {
          status: 'approved',
          decidedBy: USER_IDS.super1,
          decidedAt: at(10),
        }),
      ).toBe('accepted');
      expect((await stored('expenses', id)).status).toBe('approved');
    });

    it('missions: approval by a supervisor, never by the creator; branch staff have none', async () => {
      expect(await create('branch1', 'missions', mission(USER_IDS.branch1))).toBe('forbidden');
      const id = ids.tech1Mission;
      expect(await edit('tech1', 'missions', id, { approvedBy: USER_IDS.tech1, approvedAt: at(11) })).toBe(
        'approval_field',
      );
      expect(
        await edit('super1', 'missions', id, {
          status: 'issued',
          approvedBy: USER_IDS.super1,
          approvedAt: at(11),
        }),
      ).toBe('accepted');
      expect(await edit('tech1', 'missions', id, { status: 'completed' })).toBe('invalid_transition');
      expect(await edit('tech1', 'missions', id, { status: 'in_progress' })).toBe('accepted');
    });

    it('case timeline and surveys are append-only and limited to cases the writer sees', async () => {
      expect(await create('tech2', 'case_events', caseEvent(ids.tech1Case, USER_IDS.tech2))).toBe(
        'out_of_scope',
      );
      expect(await create('tech1', 'case_events', caseEvent(ids.tech1Case, USER_IDS.tech2))).toBe(
        'forbidden',
      );
      expect(await edit('tech1', 'case_events', ids.tech1Event, { body: 'rewritten' })).toBe('append_only');
      expect(await edit('tech1', 'surveys', ids.tech1Survey, { score: 5 })).toBe('append_only');
      expect(await create('branch1', 'case_events', caseEvent(ids.tech1Case, USER_IDS.branch1))).toBe(
        'accepted',
      );
    });

    it('diagnostics belong to the technician who ran them', async () => {
      expect(await create('tech1', 'diagnostics', diagnostic(USER_IDS.tech2, ids.tech1Case))).toBe(
        'forbidden',
      );
      expect(await create('branch1', 'diagnostics', diagnostic(USER_IDS.branch1, ids.tech1Case))).toBe(
        'forbidden',
      );
      expect(await edit('tech1', 'diagnostics', ids.tech1Diagnostic, { outcome: 'failed' })).toBe('accepted');
    });

    it('notifications: only the recipient, only the read mark; never created by a client', async () => {
      expect(await create('tech1', 'notifications', notification(USER_IDS.tech1))).toBe('forbidden');
      expect(await edit('tech1', 'notifications', ids.tech1Notification, { link: '/x' })).toBe('forbidden');
      expect(await edit('tech1', 'notifications', ids.super1Notification, { readAt: at(12) })).toBe(
        'out_of_scope',
      );
      expect(await edit('tech1', 'notifications', ids.tech1Notification, { readAt: at(12) })).toBe(
        'accepted',
      );
    });

    it('nobody writes server-owned fields; a schema violation is refused with its path', async () => {
      expect(
        await create('tech1', 'missions', { ...mission(USER_IDS.tech1), serverUpdatedAt: 1 } as Doc),
      ).toBe('server_owned_field');
      const bad = await pushTo(server.app, s.tech1, 'expenses', [
        { newDocumentState: wire({ ...expense(USER_IDS.tech1), amount: 'a lot' }), assumedMasterState: null },
      ]);
      expect(bad.body.refused[0]).toMatchObject({ code: 'validation_failed' });
      expect(bad.body.refused[0]?.message).toContain('/amount');
    });

    it('a technician cannot edit a closed case', async () => {
      const doc = newCase(s.tech1);
      await push(server.app, s.tech1, [{ newDocumentState: doc, assumedMasterState: null }]);
      const master = await stored('cases', doc.id);
      const closed = edited(master as never, { status: 'closed' });
      const result = await push(server.app, s.tech1, [
        { newDocumentState: closed, assumedMasterState: master as never },
      ]);
      expect(result.body.refused).toEqual([]);
      expect(await edit('tech1', 'cases', doc.id, { subject: 'changed after closing' })).toBe(
        'record_closed',
      );
      expect(await edit('super1', 'cases', doc.id, { status: 'reopened' })).toBe('accepted');
    });
  });

  describe('audit log', () => {
    it('holds every accepted write with a field diff and every refusal with its reason; admins only', async () => {
      const denied = await server.app.inject({
        method: 'GET',
        url: '/api/admin/audit',
        headers: bearer(s.super1),
      });
      expect(denied.statusCode).toBe(403);
      const response = await server.app.inject({
        method: 'GET',
        url: `/api/admin/audit?collection=merchants&docId=${MERCHANT_IDS.tehranSupermarket}&limit=100`,
        headers: bearer(s.admin1),
      });
      expect(response.statusCode).toBe(200);
      const { entries } = response.json<{
        entries: {
          userId: string;
          action: string;
          changes: Record<string, unknown> | null;
          code: string | null;
        }[];
      }>();
      const update = entries.find((e) => e.userId === USER_IDS.branch1 && e.action === 'update');
      expect(update?.changes).toEqual({ address: [null, 'Vanak Sq. no. 12'], updatedAt: expect.any(Array) });
      expect(entries.filter((e) => e.action === 'refused').map((e) => e.code)).toEqual(
        expect.arrayContaining(['forbidden', 'out_of_scope']),
      );

      // A time window: nothing before the server's first write, everything up to now.
      const window = async (from: number, to: number) =>
        (
          await server.app.inject({
            method: 'GET',
            url: `/api/admin/audit?from=${from}&to=${to}&limit=500`,
            headers: bearer(s.admin1),
          })
        ).json<{ entries: { at: number }[] }>().entries;
      expect(await window(0, Date.parse('2026-11-23T08:00:00.000Z'))).toEqual([]);
      const all = await window(0, clock.now() + 1);
      expect(all.length).toBeGreaterThan(10);
      const middle = all[Math.floor(all.length / 2)]!.at;
      expect((await window(middle, clock.now() + 1)).every((e) => e.at >= middle)).toBe(true);
      const bad = await server.app.inject({
        method: 'GET',
        url: '/api/admin/audit?limit=0',
        headers: bearer(s.admin1),
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('validation_failed');

      // Paged newest first: two pages of one entry never repeat an entry.
      const page = async (before?: number) =>
        (
          await server.app.inject({
            method: 'GET',
            url: `/api/admin/audit?userId=${USER_IDS.tech1}&limit=1${before ? `&before=${before}` : ''}`,
            headers: bearer(s.admin1),
          })
        ).json<{ entries: { id: number; userId: string }[]; nextBefore: number | null }>();
      const first = await page();
      const second = await page(first.nextBefore ?? undefined);
      expect(first.entries[0]!.userId).toBe(USER_IDS.tech1);
      expect(second.entries[0]!.id).toBeLessThan(first.entries[0]!.id);
    });
  });

  describe('scope shrink', () => {
    it('removes what left a moved technician’s scope and delivers what entered it, at the next sync', async () => {
      const tech2 = s.tech2;
      const before = await pullCollection(server.app, tech2, 'merchants');
      expect(before.documents.map((d) => d.id).sort()).toEqual([...isfahanMerchants].sort());
      const equipmentBefore = await pullCollection(server.app, tech2, 'equipment');

      const moved = await server.app.inject({
        method: 'POST',
        url: `/api/admin/users/${USER_IDS.tech2}/scope`,
        headers: bearer(s.admin1),
        payload: { regionIds: [REGION_IDS.tehran] },
      });
      expect(moved.statusCode).toBe(200);

      const after = await pullCollection(server.app, tech2, 'merchants', before.checkpoint, 7);
      const gone = after.documents.filter((d) => d._deleted).map((d) => d.id);
      const arrived = after.documents.filter((d) => !d._deleted);
      expect(gone.sort()).toEqual([...isfahanMerchants].sort());
      expect(arrived.map((d) => d.id).sort()).toEqual([...tehranMerchants].sort());
      // Tombstones carry nothing of a record the user may no longer read.
      for (const d of after.documents.filter((x) => x._deleted))
        expect(Object.keys(d).sort()).toEqual(['_deleted', 'id', 'serverUpdatedAt']);
      // Arrivals carry their real serverUpdatedAt, so the next push compares against the right master.
      const mer1 = arrived.find((d) => d.id === MERCHANT_IDS.tehranSupermarket);
      expect(mer1?.serverUpdatedAt).toBe(
        (await stored('merchants', MERCHANT_IDS.tehranSupermarket)).serverUpdatedAt,
      );

      // Applying the pull to the device's copy leaves exactly the new scope.
      const device = new Map(before.documents.map((d) => [d.id, d]));
      for (const d of after.documents) {
        if (d._deleted) device.delete(d.id);
        else device.set(d.id, d);
      }
      expect([...device.keys()].sort()).toEqual([...tehranMerchants].sort());
      expect((await pullCollection(server.app, tech2, 'merchants', after.checkpoint)).documents).toEqual([]);

      const equipmentAfter = await pullCollection(server.app, tech2, 'equipment', equipmentBefore.checkpoint);
      const removed = new Set(equipmentAfter.documents.filter((d) => d._deleted).map((d) => d.id));
      for (const d of equipmentBefore.documents) expect(removed.has(d.id)).toBe(true);

      // And the writes follow: the old region's records are now refused.
      expect(await edit('tech2', 'merchants', MERCHANT_IDS.isfahanSupermarket, { address: 'x' })).toBe(
        'out_of_scope',
      );
      expect(await edit('tech2', 'equipment', 'eq-016-pos', { firmware: 'x' })).toBe('out_of_scope');
    });

    it('a branch staff member moved to another branch loses the old branch’s cases', async () => {
      const branch2 = s.branch2;
      const before = await pullCollection(server.app, branch2, 'cases');
      expect(before.documents.map((d) => d.id)).toContain(ids.tech3Case);
      const moved = await server.app.inject({
        method: 'POST',
        url: `/api/admin/users/${USER_IDS.branch2}/scope`,
        headers: bearer(s.admin1),
        payload: { branchId: 'br-tehran-vanak', regionIds: [REGION_IDS.tehran] },
      });
      expect(moved.statusCode).toBe(200);
      const after = await pullCollection(server.app, branch2, 'cases', before.checkpoint);
      expect(after.documents.find((d) => d.id === ids.tech3Case)?._deleted).toBe(true);
      expect(after.documents.find((d) => d.id === ids.tech1Case)?._deleted).toBe(false);
    });
  });

  describe('a document leaving a reader’s scope by its own change', () => {
    it('a case reassigned to another technician leaves the first one’s device at the next pull', async () => {
      const doc = newCase(s.tech1, { assigneeId: USER_IDS.tech1 });
      expect(
        (await push(server.app, s.tech1, [{ newDocumentState: doc, assumedMasterState: null }])).body.refused,
      ).toEqual([]);
      const tech1Before = await pullCollection(server.app, s.tech1, 'cases');
      const tech3Before = await pullCollection(server.app, s.tech3, 'cases');
      expect(tech1Before.documents.map((d) => d.id)).toContain(doc.id);
      // Reassigned by a supervisor: tech3 receives it; tech1 keeps it as its creator.
      expect(await edit('super1', 'cases', doc.id, { assigneeId: USER_IDS.tech3 })).toBe('accepted');
      const tech3After = await pullCollection(server.app, s.tech3, 'cases', tech3Before.checkpoint);
      expect(tech3After.documents.map((d) => d.id)).toEqual([doc.id]);
      const tech1After = await pullCollection(server.app, s.tech1, 'cases', tech1Before.checkpoint);
      expect(tech1After.documents.find((d) => d.id === doc.id)?._deleted).toBe(false);

      // A case branch staff filed for their branch, reassigned away from tech3: tech3 loses it.
      const filed = newCase(s.branch1, { assigneeId: USER_IDS.tech3 });
      expect(
        (await push(server.app, s.branch1, [{ newDocumentState: filed, assumedMasterState: null }])).body
          .refused,
      ).toEqual([]);
      const tech3Held = await pullCollection(server.app, s.tech3, 'cases', tech3After.checkpoint);
      expect(tech3Held.documents.map((d) => d.id)).toEqual([filed.id]);
      expect(await edit('super1', 'cases', filed.id, { assigneeId: USER_IDS.tech1 })).toBe('accepted');
      const tech3Lost = await pullCollection(server.app, s.tech3, 'cases', tech3Held.checkpoint);
      expect(tech3Lost.documents).toEqual([
        { id: filed.id, serverUpdatedAt: expect.any(Number), _deleted: true },
      ]);
      const tech1Gained = await pullCollection(server.app, s.tech1, 'cases', tech1After.checkpoint);
      expect(tech1Gained.documents.map((d) => [d.id, d._deleted])).toContainEqual([filed.id, false]);
    });

    it('a merchant moved to another branch leaves the old branch’s devices', async () => {
      const id = 'mer-012';
      const before = await pullCollection(server.app, s.branch1, 'merchants');
      expect(before.documents.map((d) => d.id)).toContain(id);
      expect(
        await edit('admin1', 'merchants', id, {
          branchId: 'br-isfahan-chaharbagh',
          regionId: REGION_IDS.isfahan,
        }),
      ).toBe('accepted');
      const after = await pullCollection(server.app, s.branch1, 'merchants', before.checkpoint);
      expect(after.documents).toEqual([{ id, serverUpdatedAt: expect.any(Number), _deleted: true }]);
      // Its equipment follows when next written (region and branch are copied from the merchant).
    });
  });

  describe('installs', () => {
    it('lists installs; revoking stops access and refresh tokens at once and reports what was not synced', async () => {
      const installId = `install-lost-${randomUUID().slice(0, 8)}`;
      const lost = await login(server.app, 'tech1', installId);
      const doc = newCase(lost);
      expect(
        (await push(server.app, lost, [{ newDocumentState: doc, assumedMasterState: null }])).body.refused,
      ).toEqual([]);
      expect(await create('tech1', 'expenses', expense(USER_IDS.tech1))).toBe('accepted');
      const refused = await pushTo(server.app, lost, 'expenses', [
        { newDocumentState: wire(expense(USER_IDS.tech2)), assumedMasterState: null },
      ]);
      expect(refused.body.refused).toHaveLength(1);

      const list = await server.app.inject({
        method: 'GET',
        url: '/api/admin/installs',
        headers: bearer(s.admin1),
      });
      expect(list.json<{ installs: { id: string; revokedAt: number | null }[] }>().installs).toContainEqual(
        expect.objectContaining({ id: installId, revokedAt: null }),
      );
      expect(
        (await server.app.inject({ method: 'GET', url: '/api/admin/installs', headers: bearer(s.tech1) }))
          .statusCode,
      ).toBe(403);

      const revoke = await server.app.inject({
        method: 'POST',
        url: `/api/admin/installs/${installId}/revoke`,
        headers: bearer(s.admin1),
      });
      expect(revoke.statusCode).toBe(200);
      const report = revoke.json<{
        install: { revokedAt: number };
        unsynced: {
          refusedWritesNotResolved: { collection: string; code: string }[];
          highestTrackingCodeReceived: { trackingCode: string } | null;
          unknowable: string;
        };
      }>();
      expect(report.install.revokedAt).toBe(clock.now());
      expect(report.unsynced.refusedWritesNotResolved).toEqual([
        expect.objectContaining({ collection: 'expenses', code: 'forbidden' }),
      ]);
      expect(report.unsynced.highestTrackingCodeReceived?.trackingCode).toBe(doc.trackingCode);
      expect(report.unsynced.unknowable).toContain(doc.trackingCode);

      const pullAfter = await server.app.inject({
        method: 'GET',
        url: '/api/replication/cases/pull',
        headers: bearer(lost),
      });
      expect(pullAfter.statusCode).toBe(401);
      expect(pullAfter.json().error.code).toBe('install_revoked');
      const refresh = await server.app.inject({
        method: 'POST',
        url: '/api/auth/refresh',
        payload: { refreshToken: lost.refreshToken },
      });
      expect(refresh.statusCode).toBe(401);
      expect(refresh.json().error.code).toBe('install_revoked');
      // The revocation itself is audited: who, when.
      const audit = await server.app.inject({
        method: 'GET',
        url: `/api/admin/audit?collection=installs&docId=${installId}`,
        headers: bearer(s.admin1),
      });
      expect(audit.json<{ entries: unknown[] }>().entries).toEqual([
        expect.objectContaining({
          userId: USER_IDS.admin1,
          action: 'update',
          changes: { revokedAt: [null, clock.now()] },
        }),
      ]);
      // The user's other installs keep working.
      expect((await pullCollection(server.app, s.tech1, 'cases')).documents.length).toBeGreaterThan(0);
    });
  });
});
