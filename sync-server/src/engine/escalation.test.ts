/**
 * The escalation ladder L1 → L2 → L3 → product team through the HTTP routes, with the server's clock
 * in the test's hand: a hop past its OLA hands the case to the next tier's team (round-robin there,
 * its supervisor notified, an `escalation` event with before/after), once per hop however often the
 * timer runs; a supervisor of the case's team hands it on by hand (`POST /api/cases/:id/escalate`),
 * a technician may not; and every demo template routes a walk-in case to somebody — on PGlite and
 * PostgreSQL.
 */
import type { AuthSession, CaseDoc, WireDoc } from '@emdad/domain';
import { nextBusinessInstant } from '@emdad/domain/sla/calendar';
import { MERCHANT_IDS, TEAM_IDS, USER_IDS, caseTemplates, demoUsers, teams } from '@emdad/fixtures';
import { businessCalendars } from '@emdad/fixtures/sla';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncServer, type SyncServer } from '../server.ts';
import {
  backends,
  bearer,
  login,
  manualClock,
  newCase,
  pull,
  pullAll,
  pullCollection,
  push,
} from '../test-support.ts';

type Doc = Record<string, unknown> & { id: string };
const tehran = businessCalendars().find((c) => c.id === 'cal-tehran')!;
// Monday 2026-11-23 11:30 in Tehran (UTC+03:30): working time.
const MONDAY_1130 = Date.parse('2026-11-23T08:00:00.000Z');

describe.each(backends())('escalation ladder on $name', (backend) => {
  const clock = manualClock(MONDAY_1130);
  let server: SyncServer;
  let branch1: AuthSession;
  let tech1: AuthSession;
  let super1: AuthSession;
  let super2: AuthSession;
  let admin: AuthSession;

  beforeAll(async () => {
    server = await createSyncServer({
      database: await backend.freshDatabase('escalation'),
      seed: 'demo',
      now: clock.now,
      rendererDist: false,
      engine: { slaTickMs: false },
      accessTokenTtlSeconds: 60 * 24 * 3600,
    });
    [branch1, tech1, super1, super2, admin] = await Promise.all([
      login(server.app, 'branch1'),
      login(server.app, 'tech1'),
      login(server.app, 'super1'),
      login(server.app, 'super2'),
      login(server.app, 'admin1'),
    ]);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const caseOnServer = async (id: string) => {
    const answer = await server.app.inject({
      method: 'GET',
      url: `/api/cases/${id}`,
      headers: bearer(admin),
    });
    expect(answer.statusCode).toBe(200);
    return answer.json<WireDoc<CaseDoc>>();
  };
  const eventsOf = async (id: string) =>
    (await pullCollection(server.app, admin, 'case_events')).documents.filter(
      (e) => e.caseId === id,
    ) as Doc[];
  const hopMoves = async (id: string) =>
    (await eventsOf(id))
      .filter((e) => e.kind === 'escalation' && (e.escalation as Doc).action === 'move_to_l2')
      .map((e) => {
        const x = e.escalation as Doc;
        return `${String(x.fromTier)}→${String(x.toTier)}:${String(x.target)}:${String(x.notifiedUserId)}`;
      })
      .sort();
  const escalate = (session: AuthSession, id: string, payload: unknown) =>
    server.app.inject({
      method: 'POST',
      url: `/api/cases/${id}/escalate`,
      headers: bearer(session),
      payload: payload as Record<string, unknown>,
    });
  const newWalkIn = async (overrides: Partial<CaseDoc> = {}) => {
    const at = new Date(clock.now()).toISOString();
    // Low priority at a standard merchant: the resolution target (days) is far behind the hops' OLAs.
    const c = newCase(branch1, {
      merchantId: 'mer-002',
      equipmentId: null,
      priority: 'low',
      createdAt: at,
      updatedAt: at,
      ...overrides,
    });
    const answer = await push(server.app, branch1, [{ newDocumentState: c, assumedMasterState: null }]);
    expect(answer.body.refused).toEqual([]);
    return caseOnServer(c.id);
  };
  /** Moves the clock a minute past the current hop's OLA due time and runs the timer. */
  const pastOla = async (c: WireDoc<CaseDoc>) => {
    expect(c.sla?.ola?.state).toMatch(/on_track|warning/);
    clock.set(Date.parse(c.sla!.ola!.dueAt!) + 60_000);
    await server.engine.tick();
    return caseOnServer(c.id);
  };

  it('hands a case past each hop’s OLA to the next tier: L1 → L2 → L3 → product, once per hop', async () => {
    const l1 = await newWalkIn();
    expect(l1).toMatchObject({ supportTier: 'L1', teamId: TEAM_IDS.fieldOps, assigneeId: USER_IDS.tech1 });
    expect(l1.sla!.ola).toMatchObject({ tier: 'L1', targetMinutes: 240 });

    const l2 = await pastOla(l1);
    expect(l2).toMatchObject({ supportTier: 'L2', teamId: TEAM_IDS.centralSupport });
    expect([USER_IDS.support1, USER_IDS.support2]).toContain(l2.assigneeId);
    expect(l2.sla!.ola).toMatchObject({
      tier: 'L2',
      targetMinutes: 480,
      state: 'on_track',
      since: new Date(clock.now()).toISOString(),
    });
    // The timer again, a minute later: nothing new.
    const countAtL2 = (await eventsOf(l1.id)).length;
    await server.engine.tick();
    clock.advance(60_000);
    await server.engine.tick();
    expect((await eventsOf(l1.id)).length).toBe(countAtL2);

    const l3 = await pastOla(l2);
    expect(l3).toMatchObject({ supportTier: 'L3', teamId: TEAM_IDS.l3Specialists });
    expect([USER_IDS.l3spec1, USER_IDS.l3spec2]).toContain(l3.assigneeId);
    const product = await pastOla(l3);
    expect(product).toMatchObject({
      supportTier: 'product',
      teamId: TEAM_IDS.product,
      assigneeId: USER_IDS.product1,
    });
    // Past the product team's own OLA: the last hop; its supervisor hears of it, the case stays.
    const last = await pastOla(product);
    expect(last).toMatchObject({ supportTier: 'product', teamId: TEAM_IDS.product });
    await server.engine.tick();
    clock.advance(24 * 3_600_000);
    await server.engine.tick();

    expect(await hopMoves(l1.id)).toEqual(
      [
        `L1→L2:ola:${USER_IDS.super1}`,
        `L2→L3:ola:${USER_IDS.super4}`,
        `L3→product:ola:${USER_IDS.super5}`,
      ].sort(),
    );
    const events = await eventsOf(l1.id);
    const olaBreaches = events
      .filter((e) => e.kind === 'sla' && (e.sla as Doc).target === 'ola')
      .map((e) => e.id);
    expect(olaBreaches).toHaveLength(4);
    const assignments = events
      .filter((e) => e.kind === 'assignment')
      .map((e) => [e.supportTier, e.teamId])
      .sort();
    expect(assignments).toEqual(
      [
        ['L1', TEAM_IDS.fieldOps],
        ['L2', TEAM_IDS.centralSupport],
        ['L3', TEAM_IDS.l3Specialists],
        ['product', TEAM_IDS.product],
      ].sort(),
    );
    const hops = await server.app.inject({
      method: 'GET',
      url: `/api/cases/${l1.id}/sla`,
      headers: bearer(admin),
    });
    expect(hops.json<{ hops: { tier: string }[] }>().hops.map((h) => h.tier)).toEqual([
      'L1',
      'L2',
      'L3',
      'product',
    ]);

    // The product team's supervisor is told (held to their working hours, delivered by the timer).
    clock.set(nextBusinessInstant(tehran, clock.now() + 1).getTime() + 60_000);
    await server.engine.tick();
    const super5 = await login(server.app, 'super5');
    const notices = (await pullCollection(server.app, super5, 'notifications')).documents.filter(
      (n) => n.link === `/cases/${l1.id}`,
    );
    expect(notices.map((n) => n.kind)).toContain('assignment');
    expect(notices.map((n) => n.kind)).toContain('sla_breach');
  });

  it('lets the supervisor of the case’s team hand it on now, with a reason; refuses a technician', async () => {
    clock.set(Date.parse('2026-12-07T06:00:00.000Z')); // Monday 09:30 Tehran
    const c = await newWalkIn();
    expect(c).toMatchObject({ supportTier: 'L1', teamId: TEAM_IDS.fieldOps, assigneeId: USER_IDS.tech1 });

    const byTech = await escalate(tech1, c.id, { reason: 'Beyond what I can fix on site' });
    expect(byTech.statusCode).toBe(403);
    expect(byTech.json()).toMatchObject({
      error: {
        code: 'forbidden',
        details: { code: 'forbidden', sentence: { fa: expect.stringMatching(/سرپرست/) } },
      },
    });
    // The Isfahan field supervisor does not even see this Tehran case.
    expect((await escalate(super2, c.id, { reason: 'Not my team' })).statusCode).toBe(404);
    expect((await escalate(super1, c.id, { reason: '' })).statusCode).toBe(400);
    expect((await caseOnServer(c.id)).supportTier).toBe('L1');

    clock.advance(5 * 60_000);
    const reason = 'پایانه پس از تعویض کاغذ هم چاپ نمی‌کند؛ بررسی مرکزی لازم است';
    const answer = await escalate(super1, c.id, { reason, fromTier: 'L1' });
    expect(answer.statusCode).toBe(200);
    const moved = answer.json<{ fromTier: string; toTier: string; teamId: string; assigneeId: string }>();
    expect(moved).toMatchObject({ fromTier: 'L1', toTier: 'L2', teamId: TEAM_IDS.centralSupport });
    expect([USER_IDS.support1, USER_IDS.support2]).toContain(moved.assigneeId);
    const stored = await caseOnServer(c.id);
    expect(stored).toMatchObject({
      supportTier: 'L2',
      teamId: TEAM_IDS.centralSupport,
      assigneeId: moved.assigneeId,
    });
    expect(stored.sla!.ola).toMatchObject({ tier: 'L2', since: new Date(clock.now()).toISOString() });
    const escalation = (await eventsOf(c.id)).filter((e) => e.kind === 'escalation');
    expect(escalation).toMatchObject([
      {
        authorId: USER_IDS.super1,
        body: reason,
        visibility: 'internal',
        escalation: {
          action: 'move_to_l2',
          target: 'ola',
          level: 'warning',
          fromTier: 'L1',
          toTier: 'L2',
          notifiedUserId: USER_IDS.super1,
        },
      },
    ]);
    // A retry of the same request (it saw L1) does not hop twice.
    const retry = await escalate(super1, c.id, { reason, fromTier: 'L1' });
    expect(retry.statusCode).toBe(409);
    expect(retry.json()).toMatchObject({
      error: { code: 'invalid_transition', details: { sentence: { en: /already at L2/ } } },
    });
    // An admin takes it on to L3; the L3 team's supervisor is told at once (working hours).
    const byAdmin = await escalate(admin, c.id, { reason: 'Needs a specialist' });
    expect(byAdmin.statusCode).toBe(200);
    expect(byAdmin.json()).toMatchObject({ fromTier: 'L2', toTier: 'L3', teamId: TEAM_IDS.l3Specialists });
    const super4 = await login(server.app, 'super4');
    const told = (await pullCollection(server.app, super4, 'notifications')).documents.filter(
      (n) => n.link === `/cases/${c.id}`,
    );
    expect(told.map((n) => n.kind)).toEqual(['assignment']);
    expect(String((told[0]!.body as { en: string }).en)).toContain('Needs a specialist');
  });

  it('shows a supervisor the cases their team holds, even with no branch and nobody of the team on them', async () => {
    clock.set(Date.parse('2026-12-14T06:00:00.000Z')); // Monday 09:30 Tehran
    // A phone case of a merchant, logged centrally: no branch, created by an admin.
    const at = new Date(clock.now()).toISOString();
    const draft = newCase(admin, {
      branchId: null,
      channel: 'phone',
      merchantId: 'mer-002',
      equipmentId: null,
      priority: 'low',
      createdAt: at,
      updatedAt: at,
    });
    expect(
      (await push(server.app, admin, [{ newDocumentState: draft, assumedMasterState: null }])).body,
    ).toMatchObject({ conflicts: [], refused: [] });
    expect(
      (await escalate(admin, draft.id, { reason: 'Central support takes phone cases' })).statusCode,
    ).toBe(200);
    const atL2 = await caseOnServer(draft.id);
    expect(atL2.teamId).toBe(TEAM_IDS.centralSupport);
    // The admin hands it to an Isfahan technician; central support still holds it.
    clock.advance(60_000);
    const reassigned = {
      ...atL2,
      assigneeId: USER_IDS.tech3,
      updatedAt: new Date(clock.now()).toISOString(),
    };
    expect(
      (await push(server.app, admin, [{ newDocumentState: reassigned, assumedMasterState: atL2 }])).body,
    ).toMatchObject({ conflicts: [], refused: [] });
    const seenBy = async (session: AuthSession) =>
      (await pullAll(server.app, session, 500)).documents.find((d) => d.id === draft.id);
    // super1 supervises central support: the team's case is theirs to see, though no member is on it.
    expect(await seenBy(super1)).toMatchObject({ teamId: TEAM_IDS.centralSupport, _deleted: false });
    expect(await seenBy(super2)).toMatchObject({ assigneeId: USER_IDS.tech3 });

    // Taken on to L3: it leaves central support, and super1's device is told to drop it.
    const before = (await pullAll(server.app, super1, 500)).documents;
    const checkpoint = before.reduce(
      (max, d) =>
        d.serverUpdatedAt! > max.serverUpdatedAt ? { serverUpdatedAt: d.serverUpdatedAt!, id: d.id } : max,
      { serverUpdatedAt: 0, id: '' },
    );
    clock.advance(60_000);
    expect((await escalate(admin, draft.id, { reason: 'Needs a specialist' })).statusCode).toBe(200);
    const after = await pull(server.app, super1, checkpoint, 500);
    expect(after.documents.filter((d) => d.id === draft.id).map((d) => d._deleted)).toEqual([true]);
  });

  it('refuses to escalate a resolved case or one already with the product team', async () => {
    const c = await newWalkIn({ templateId: 'tpl-recurring-firmware-fault' });
    expect(c).toMatchObject({
      supportTier: 'product',
      teamId: TEAM_IDS.product,
      assigneeId: USER_IDS.product1,
    });
    const top = await escalate(admin, c.id, { reason: 'Anyone above?' });
    expect(top.statusCode).toBe(409);
    expect(top.json()).toMatchObject({
      error: { code: 'invalid_transition', details: { sentence: { en: /last tier/ } } },
    });
  });
});

describe.each(backends())('demo organisation on $name', (backend) => {
  let server: SyncServer;
  let branch1: AuthSession;
  let branch2: AuthSession;

  beforeAll(async () => {
    server = await createSyncServer({
      database: await backend.freshDatabase('demo_routing'),
      seed: 'demo',
      now: () => MONDAY_1130,
      rendererDist: false,
      engine: { slaTickMs: false },
    });
    [branch1, branch2] = await Promise.all([login(server.app, 'branch1'), login(server.app, 'branch2')]);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('has people in every team a template or an escalation names, and a supervisor for each', () => {
    const named = new Set([
      ...caseTemplates.map((t) => t.team),
      ...Object.values(server.engine.settings.tierTeams),
    ]);
    for (const team of named) {
      expect(
        teams.find((t) => t.id === team),
        team,
      ).toBeDefined();
      expect(
        demoUsers.some((u) => u.teamId === team && u.role === 'technician'),
        team,
      ).toBe(true);
    }
  });

  it.each(caseTemplates.map((t) => [t.id, t] as const))(
    'routes a walk-in case of %s to somebody in both regions',
    async (_id, template) => {
      for (const [session, merchantId] of [
        [branch1, MERCHANT_IDS.tehranPharmacy],
        [branch2, MERCHANT_IDS.isfahanHandicrafts],
      ] as const) {
        const at = new Date(MONDAY_1130).toISOString();
        const c = newCase(session, {
          templateId: template.id,
          priority: template.defaultPriority,
          merchantId,
          equipmentId: null,
          createdAt: at,
          updatedAt: at,
        });
        expect(
          (await push(server.app, session, [{ newDocumentState: c, assumedMasterState: null }])).body.refused,
        ).toEqual([]);
        const answer = await server.app.inject({
          method: 'GET',
          url: `/api/cases/${c.id}`,
          headers: bearer(session),
        });
        const stored = answer.json<WireDoc<CaseDoc>>();
        expect(stored.teamId).toBe(template.team);
        expect(stored.supportTier).toBe(template.tier);
        const assignee = demoUsers.find((u) => u.id === stored.assigneeId);
        expect(assignee, `${template.code} from ${session.user.username}`).toBeDefined();
        expect(assignee!.teamId).toBe(template.team);
      }
    },
  );
});
