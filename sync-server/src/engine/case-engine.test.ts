/**
 * The case engine end to end through the HTTP routes, with the server's clock in the test's hand:
 * routing on creation, SLA written from the timeline, breach → escalation once, notifications held
 * to working hours, pause, duplicates, device clock skew, round-robin with capacity, the tick lock —
 * on PGlite and PostgreSQL.
 */
import type { AuthSession, CaseDoc, WireDoc } from '@emdad/domain';
import { addBusinessMinutes } from '@emdad/domain/sla/calendar';
import { BRANCH_IDS, TEAM_IDS, USER_IDS } from '@emdad/fixtures';
import { businessCalendars } from '@emdad/fixtures/sla';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncServer, type SyncServer } from '../server.ts';
import {
  backends,
  bearer,
  edited,
  login,
  manualClock,
  newCase,
  pullAll,
  pullCollection,
  push,
  pushTo,
} from '../test-support.ts';
import { ENGINE_TICK_LOCK } from './case-engine.ts';
import { ServerWriter } from './server-writes.ts';

type Doc = Record<string, unknown> & { id: string };
const tehran = businessCalendars().find((c) => c.id === 'cal-tehran')!;
// Monday 2026-11-23 11:30 in Tehran (UTC+03:30): working time.
const MONDAY_1130 = Date.parse('2026-11-23T08:00:00.000Z');

describe.each(backends())('case engine on $name', (backend) => {
  const clock = manualClock(MONDAY_1130);
  let server: SyncServer;
  let branch1: AuthSession;
  let tech1: AuthSession;
  let super1: AuthSession;
  let admin: AuthSession;

  beforeAll(async () => {
    server = await createSyncServer({
      database: await backend.freshDatabase('case_engine'),
      seed: 'demo',
      now: clock.now,
      rendererDist: false,
      engine: { slaTickMs: false },
      // The test moves the clock by days; tokens must outlive that.
      accessTokenTtlSeconds: 60 * 24 * 3600,
    });
    branch1 = await login(server.app, 'branch1');
    tech1 = await login(server.app, 'tech1');
    super1 = await login(server.app, 'super1');
    admin = await login(server.app, 'admin1');
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const caseOf = async (session: AuthSession, id: string) =>
    (await pullAll(server.app, session)).documents.find((d) => d.id === id);
  const eventsOf = async (id: string) =>
    (await pullCollection(server.app, admin, 'case_events')).documents.filter(
      (e) => e.caseId === id,
    ) as Doc[];
  const notificationsOf = async (session: AuthSession) =>
    (await pullCollection(server.app, session, 'notifications')).documents as Doc[];

  let walkIn: WireDoc<CaseDoc>;

  it('routes a new walk-in case, writes its SLA and notifies the assignee', async () => {
    walkIn = newCase(branch1, {
      createdAt: new Date(clock.now()).toISOString(),
      updatedAt: new Date(clock.now()).toISOString(),
    });
    expect(
      (await push(server.app, branch1, [{ newDocumentState: walkIn, assumedMasterState: null }])).body,
    ).toMatchObject({ conflicts: [], refused: [] });
    const stored = await caseOf(branch1, walkIn.id);
    expect(stored).toMatchObject({
      teamId: TEAM_IDS.fieldOps,
      supportTier: 'L1',
      assigneeId: USER_IDS.tech1,
      // The device's own version stays acknowledged: the server's write is not the device's.
      acknowledgedUpdatedAt: walkIn.updatedAt,
    });
    // tpl-pos-no-print, high, gold merchant: 25 / 90 / 475 business minutes of the Tehran calendar.
    expect(stored!.sla).toMatchObject({
      state: 'on_track',
      paused: false,
      calendarId: 'cal-tehran',
      firstResponseDueAt: addBusinessMinutes(tehran, MONDAY_1130, 25).toISOString(),
      resolutionDueAt: addBusinessMinutes(tehran, MONDAY_1130, 475).toISOString(),
      ola: { tier: 'L1', targetMinutes: 240, state: 'on_track' },
    });
    expect(stored!.sla!.resolutionDueAt).toBe('2026-11-24T08:55:00.000Z'); // Tuesday 12:25 Tehran
    const events = await eventsOf(walkIn.id);
    expect(events.map((e) => [e.kind, e.authorId, e.assigneeId, e.teamId, e.visibility])).toEqual([
      ['assignment', 'system', USER_IDS.tech1, TEAM_IDS.fieldOps, 'internal'],
    ]);
    const forTech1 = (await notificationsOf(tech1)).filter((n) => String(n.link).includes(walkIn.id));
    expect(forTech1.map((n) => n.kind)).toEqual(['assignment']);
    expect(forTech1[0]!.title).toMatchObject({ en: `Case ${walkIn.trackingCode} is assigned to you` });
  });

  it('breaches, escalates once per action, and holds the supervisor’s notice until working hours', async () => {
    // Tuesday 17:00 Tehran: past the resolution due time (12:25), after working hours.
    clock.set(Date.parse('2026-11-24T13:30:00.000Z'));
    const report = await server.engine.tick();
    expect(report.acted).toBe(true);
    expect(report.cases).toBeGreaterThanOrEqual(1);
    const breached = await caseOf(admin, walkIn.id);
    expect(breached).toMatchObject({
      priority: 'urgent',
      supportTier: 'L2',
      teamId: TEAM_IDS.centralSupport,
      sla: { state: 'breached' },
    });
    // Re-routed round-robin in the L2 team (central support's specialists, fixtures/README.md).
    expect([USER_IDS.support1, USER_IDS.support2]).toContain(breached!.assigneeId);
    const events = await eventsOf(walkIn.id);
    const sla = events
      .filter((e) => e.kind === 'sla')
      .map((e) => `${(e.sla as Doc).target}:${(e.sla as Doc).level}`);
    expect(sla.sort()).toEqual(
      ['firstResponse:breach', 'firstResponse:warning', 'resolution:breach', 'resolution:warning'].sort(),
    );
    const escalations = events
      .filter((e) => e.kind === 'escalation')
      .map((e) => {
        const x = e.escalation as Doc;
        return `${x.target}:${x.level}:${x.action}`;
      });
    // The policy of fixtures/data/sla-targets.json, each action once.
    expect(escalations.sort()).toEqual(
      [
        'firstResponse:warning:notify_assignee',
        'firstResponse:breach:notify_supervisor',
        'firstResponse:breach:raise_priority',
        'resolution:warning:notify_assignee',
        'resolution:warning:notify_supervisor',
        'resolution:breach:notify_supervisor',
        'resolution:breach:move_to_l2',
      ].sort(),
    );
    const moved = events.find((e) => (e.escalation as Doc | null)?.action === 'move_to_l2');
    expect(moved!.escalation).toMatchObject({
      fromTier: 'L1',
      toTier: 'L2',
      notifiedUserId: USER_IDS.super1,
    });
    // 17:00 is outside super1's hours: nothing delivered yet.
    expect((await notificationsOf(super1)).filter((n) => String(n.link).includes(walkIn.id))).toEqual([]);

    // Ticking again changes nothing: every threshold and action is applied once.
    const countBefore = (await eventsOf(walkIn.id)).length;
    await server.engine.tick();
    clock.advance(60_000);
    await server.engine.tick();
    expect((await eventsOf(walkIn.id)).length).toBe(countBefore);

    // Wednesday 08:01 Tehran: the held notices are delivered, breach first.
    clock.set(Date.parse('2026-11-25T04:31:00.000Z'));
    const delivered = await server.engine.tick();
    expect(delivered.notificationsDelivered).toBeGreaterThan(0);
    const notices = (await notificationsOf(super1)).filter((n) => String(n.link).includes(walkIn.id));
    expect(notices.map((n) => n.kind)).toContain('sla_breach');
    expect(notices.every((n) => n.createdAt === '2026-11-25T04:30:00.000Z')).toBe(true);
    const again = await server.engine.tick();
    expect(again.notificationsDelivered).toBe(0);
  });

  it('answers the hops with their OLA and the dwell per status, team and person (GET /api/cases/:id/sla)', async () => {
    const answer = await server.app.inject({
      method: 'GET',
      url: `/api/cases/${walkIn.id}/sla`,
      headers: bearer(super1),
    });
    expect(answer.statusCode).toBe(200);
    const body = answer.json<{
      hops: {
        tier: string;
        teamId: string;
        to: string | null;
        ola: { state: string; targetMinutes: number };
      }[];
      dwell: {
        totalSeconds: number;
        byStatus: Record<string, { seconds: number; businessSeconds: number }>;
        byTeam: Record<string, { seconds: number }>;
        byPerson: Record<string, { seconds: number }>;
        unassignedPersonSeconds: number;
      };
    }>();
    // L1 held it from creation until the breach moved it to L2 — far past its 240-minute OLA.
    expect(body.hops.map((h) => [h.tier, h.teamId, h.ola.targetMinutes])).toEqual([
      ['L1', TEAM_IDS.fieldOps, 240],
      ['L2', TEAM_IDS.centralSupport, 480],
    ]);
    expect(body.hops[0]!.ola.state).toBe('breached');
    expect(body.hops[1]!.to).toBeNull();
    // Monday 11:30 → Tuesday 17:00 (escalation) → Wednesday 08:01 (now): the parts add up to the whole.
    const d = body.dwell;
    expect(d.totalSeconds).toBe((Date.parse('2026-11-25T04:31:00.000Z') - MONDAY_1130) / 1000);
    expect(d.byStatus.new!.seconds).toBe(d.totalSeconds);
    // tech1 until the escalation, then the L2 specialist it was re-routed to.
    expect(d.byPerson[USER_IDS.tech1]!.seconds).toBe(
      (Date.parse('2026-11-24T13:30:00.000Z') - MONDAY_1130) / 1000,
    );
    const personSeconds = Object.values(d.byPerson).reduce((sum, p) => sum + p.seconds, 0);
    expect(personSeconds + d.unassignedPersonSeconds).toBe(d.totalSeconds);
    expect(d.byTeam[TEAM_IDS.fieldOps]!.seconds).toBe(
      (Date.parse('2026-11-24T13:30:00.000Z') - MONDAY_1130) / 1000,
    );
    // Business time: Monday 11:30–16:00 less lunch (3:30 h) + Tuesday 7 h + Wednesday 1 min.
    expect(d.byStatus.new!.businessSeconds).toBe((210 + 420 + 1) * 60);
    const outsider = await server.app.inject({
      method: 'GET',
      url: `/api/cases/${walkIn.id}/sla`,
      headers: bearer(tech1),
    });
    expect(outsider.statusCode).toBe(404);
  });

  it('pauses while the case waits on the customer and shows it', async () => {
    clock.set(Date.parse('2026-11-25T05:00:00.000Z')); // Wednesday 08:30 Tehran
    const at = new Date(clock.now()).toISOString();
    const created = newCase(branch1, {
      equipmentId: 'eq-003-pos',
      merchantId: 'mer-003',
      createdAt: at,
      updatedAt: at,
    });
    await push(server.app, branch1, [{ newDocumentState: created, assumedMasterState: null }]);
    const master = (await caseOf(branch1, created.id))!;
    clock.advance(10 * 60_000);
    const waiting = edited(master, { status: 'triaged' }, new Date(clock.now()).toISOString());
    expect(
      (await push(server.app, branch1, [{ newDocumentState: waiting, assumedMasterState: master }])).body
        .refused,
    ).toEqual([]);
    const triaged = (await caseOf(branch1, created.id))!;
    clock.advance(60_000);
    const paused = edited(triaged, { status: 'pending_customer' }, new Date(clock.now()).toISOString());
    const answer = await push(server.app, branch1, [
      { newDocumentState: paused, assumedMasterState: triaged },
    ]);
    expect(answer.body.refused).toEqual([]);
    const stored = (await caseOf(branch1, created.id))!;
    expect(stored.sla).toMatchObject({
      paused: true,
      pausedReason: 'pending_customer',
      pausedSince: new Date(clock.now()).toISOString(),
      state: 'paused',
      resolutionDueAt: null,
    });
    const remaining = stored.sla!.targets!.resolution.remainingMinutes!;
    expect(remaining).toBeGreaterThan(0);
    // A week later the paused clock still has the same time left: nothing breached.
    clock.advance(7 * 24 * 3_600_000);
    await server.engine.tick();
    const later = (await caseOf(branch1, created.id))!;
    expect(later.sla!.targets!.resolution).toMatchObject({ state: 'paused', remainingMinutes: remaining });
  });

  it('a public entry to the customer meets the first response; an internal note does not', async () => {
    const at = new Date(clock.now()).toISOString();
    const created = newCase(branch1, { equipmentId: null, createdAt: at, updatedAt: at });
    await push(server.app, branch1, [{ newDocumentState: created, assumedMasterState: null }]);
    const entry = (visibility: 'public' | 'internal', minutes: number) => {
      const when = new Date(clock.now() + minutes * 60_000).toISOString();
      return {
        newDocumentState: {
          id: `evt-${crypto.randomUUID()}`,
          caseId: created.id,
          kind: 'comment',
          authorId: USER_IDS.branch1,
          at: when,
          body: visibility === 'public' ? 'We are sending a technician.' : 'Checked the terminal log.',
          fromStatus: null,
          toStatus: null,
          assigneeId: null,
          minutes: null,
          diagnosticId: null,
          articleId: null,
          createdAt: when,
          updatedAt: when,
          visibility,
          _deleted: false,
        },
        assumedMasterState: null,
      };
    };
    clock.advance(5 * 60_000);
    await pushTo(server.app, branch1, 'case_events', [entry('internal', -3)]);
    expect((await caseOf(branch1, created.id))!.sla!.targets!.firstResponse.state).not.toBe('met');
    await pushTo(server.app, branch1, 'case_events', [entry('public', -1)]);
    const answered = (await caseOf(branch1, created.id))!;
    expect(answered.sla!.targets!.firstResponse).toMatchObject({
      state: 'met',
      metAt: new Date(clock.now() - 60_000).toISOString(),
    });
    // From now on the update clock runs: the next silence is due from that answer.
    expect(answered.sla!.targets!.update.state).toBe('on_track');
    expect(answered.sla!.updateDueAt).not.toBeNull();
  });

  it('flags a new case for a device with an open case of the same template as a possible duplicate', async () => {
    const at = new Date(clock.now()).toISOString();
    const first = newCase(branch1, {
      equipmentId: 'eq-002-pos',
      merchantId: 'mer-002',
      createdAt: at,
      updatedAt: at,
    });
    await push(server.app, branch1, [{ newDocumentState: first, assumedMasterState: null }]);
    clock.advance(60_000);
    const later = new Date(clock.now()).toISOString();
    const second = newCase(branch1, {
      equipmentId: 'eq-002-pos',
      merchantId: 'mer-002',
      createdAt: later,
      updatedAt: later,
    });
    await push(server.app, branch1, [{ newDocumentState: second, assumedMasterState: null }]);
    expect((await caseOf(branch1, first.id))!.possibleDuplicateOf).toBeNull();
    expect((await caseOf(branch1, second.id))!.possibleDuplicateOf).toBe(first.id);
    const flags = (await eventsOf(second.id)).filter((e) => e.kind === 'duplicate_flag');
    expect(flags).toMatchObject([{ duplicateOf: first.id, visibility: 'internal', authorId: 'system' }]);
  });

  it('takes device times within the skew bound and corrects and flags them beyond it', async () => {
    const serverNow = clock.now();
    // The device's clock runs two hours fast; it logged the case 10 minutes before pushing.
    const deviceNow = serverNow + 2 * 3_600_000;
    const loggedAt = new Date(deviceNow - 10 * 60_000).toISOString();
    const skewed = newCase(branch1, { equipmentId: null, createdAt: loggedAt, updatedAt: loggedAt });
    const response = await server.app.inject({
      method: 'POST',
      url: '/api/replication/cases/push',
      headers: { ...bearer(branch1), 'x-emdad-device-time': String(deviceNow) },
      payload: [{ newDocumentState: skewed, assumedMasterState: null }],
    });
    expect(response.statusCode).toBe(200);
    const flags = (await eventsOf(skewed.id)).filter((e) => e.kind === 'clock_flag');
    expect(flags).toMatchObject([
      {
        clock: {
          reason: 'skew_corrected',
          deviceAt: loggedAt,
          acceptedAt: new Date(serverNow - 10 * 60_000).toISOString(),
          skewMs: 2 * 3_600_000,
        },
      },
    ]);
    // Within the bound: taken as it is, no flag.
    const fine = newCase(branch1, { equipmentId: null });
    const near = new Date(clock.now() - 60_000).toISOString();
    await server.app.inject({
      method: 'POST',
      url: '/api/replication/cases/push',
      headers: { ...bearer(branch1), 'x-emdad-device-time': String(clock.now() + 30_000) },
      payload: [
        { newDocumentState: { ...fine, createdAt: near, updatedAt: near }, assumedMasterState: null },
      ],
    });
    expect((await eventsOf(fine.id)).filter((e) => e.kind === 'clock_flag')).toEqual([]);
  });

  it('round-robins within the team and region and passes over people at their cap', async () => {
    // A second Tehran technician in the field team.
    await server.db.query(
      `INSERT INTO users (id, username, password_hash, role, display_name_fa, display_name_en, region_ids, team_id)
       VALUES ('usr-tech9', 'tech9', 'x', 'technician', 'فنی نه', 'Tech Nine', '["reg-tehran"]'::jsonb, $1)`,
      [TEAM_IDS.fieldOps],
    );
    const assignees: (string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const at = new Date(clock.now()).toISOString();
      const c = newCase(branch1, {
        equipmentId: null,
        branchId: BRANCH_IDS.tehranVanak,
        createdAt: at,
        updatedAt: at,
      });
      await push(server.app, branch1, [{ newDocumentState: c, assumedMasterState: null }]);
      assignees.push((await caseOf(branch1, c.id))!.assigneeId);
    }
    // Alternating between the two (tech1 already holds open cases, but stays under the cap of 15).
    expect(new Set(assignees)).toEqual(new Set([USER_IDS.tech1, 'usr-tech9']));
    expect(assignees[0]).not.toBe(assignees[1]);
    expect(assignees[1]).not.toBe(assignees[2]);
  });

  it('refuses SLA, escalation, duplicate and clock entries pushed by a device', async () => {
    const at = new Date(clock.now()).toISOString();
    const base = {
      id: `evt-${crypto.randomUUID()}`,
      caseId: walkIn.id,
      authorId: USER_IDS.branch1,
      at,
      body: null,
      fromStatus: null,
      toStatus: null,
      assigneeId: null,
      minutes: null,
      diagnosticId: null,
      articleId: null,
      createdAt: at,
      updatedAt: at,
      _deleted: false,
    };
    const forged = [
      { ...base, kind: 'sla', sla: { target: 'resolution', level: 'breach', crossedAt: at, dueAt: null } },
      { ...base, id: `evt-${crypto.randomUUID()}`, kind: 'comment', duplicateOf: walkIn.id },
    ];
    const answer = await server.app.inject({
      method: 'POST',
      url: '/api/replication/case_events/push',
      headers: bearer(branch1),
      payload: forged.map((e) => ({ newDocumentState: e, assumedMasterState: null })),
    });
    expect(answer.json<{ refused: { code: string }[] }>().refused.map((r) => r.code)).toEqual([
      'server_owned_field',
      'server_owned_field',
    ]);
  });

  it('takes in on its timer an open case it never saw (stored before it ran, or its push reaction failed)', async () => {
    const at = new Date(clock.now()).toISOString();
    const stored = newCase(branch1, { equipmentId: null, createdAt: at, updatedAt: at });
    const { _deleted, ...doc } = stored;
    void _deleted;
    // Written without a push, so no push reaction ran.
    await new ServerWriter(server.db, null, clock.now).transaction(async (w) => {
      await w.put('cases', doc);
    });
    expect((await caseOf(branch1, stored.id))!.sla ?? null).toBeNull();
    await server.engine.tick();
    const seen = (await caseOf(branch1, stored.id))!;
    expect(seen.teamId).toBe(TEAM_IDS.fieldOps);
    expect(seen.assigneeId).not.toBeNull();
    expect(seen.sla?.state).toBeTruthy();
  });

  it.runIf(backend.name === 'postgres')(
    'acts on the timer in one instance at a time (advisory lock)',
    async () => {
      await server.db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [ENGINE_TICK_LOCK]);
        expect((await server.engine.tick()).acted).toBe(false);
      });
      expect((await server.engine.tick()).acted).toBe(true);
    },
  );
});
