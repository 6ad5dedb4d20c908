import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceCalendar } from '../sla/testing.ts';
import { findPossibleDuplicates, possibleDuplicateOf, type DuplicateCandidate } from './duplicates.ts';
import { dwellTimes } from './dwell.ts';
import {
  EMPTY_ROUTING_STATE,
  pickAssignee,
  type Agent,
  type RoutingRule,
  type RoutingState,
} from './routing.ts';

const rules: RoutingRule[] = [
  { templateId: 'tpl-pos-no-print', team: 'team-field-ops', tier: 'L1' },
  { templateId: 'tpl-pinpad-key-error', team: 'team-key-management', tier: 'L2' },
];
const agent = (id: string, regionIds: string[], openCases = 0, extra: Partial<Agent> = {}): Agent => ({
  id,
  teamId: 'team-field-ops',
  tier: 'L1',
  regionIds,
  active: true,
  openCases,
  ...extra,
});

describe('routing and assignment', () => {
  const agents = [
    agent('tech1', ['reg-tehran']),
    agent('tech2', ['reg-tehran']),
    agent('tech3', ['reg-isfahan']),
    agent('tech4', ['reg-tehran'], 0, { tier: 'L2' }),
  ];

  it('round-robins within the team and region, handing back its state', () => {
    let state: RoutingState = EMPTY_ROUTING_STATE;
    const picked: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = pickAssignee({
        templateId: 'tpl-pos-no-print',
        rules,
        regionId: 'reg-tehran',
        agents,
        state,
        defaultCapacity: 10,
      });
      if (!r.ok) throw new Error(r.reason);
      expect(r).toMatchObject({ team: 'team-field-ops', tier: 'L1', regionFallback: false });
      picked.push(r.assigneeId);
      state = r.state;
    }
    expect(picked).toEqual(['tech1', 'tech2', 'tech1', 'tech2']);
    expect(EMPTY_ROUTING_STATE.lastAssigned).toEqual({}); // inputs are not mutated
  });

  it('skips people at their cap, and says so when everyone is', () => {
    const busy = [agent('tech1', ['reg-tehran'], 3, { capacity: 3 }), agent('tech2', ['reg-tehran'], 9)];
    expect(
      pickAssignee({
        templateId: 'tpl-pos-no-print',
        rules,
        regionId: 'reg-tehran',
        agents: busy,
        state: EMPTY_ROUTING_STATE,
        defaultCapacity: 10,
      }),
    ).toMatchObject({ ok: true, assigneeId: 'tech2' });
    expect(
      pickAssignee({
        templateId: 'tpl-pos-no-print',
        rules,
        regionId: 'reg-tehran',
        agents: busy,
        state: EMPTY_ROUTING_STATE,
        defaultCapacity: 9,
      }),
    ).toMatchObject({ ok: false, reason: 'all_at_capacity', team: 'team-field-ops' });
  });

  it('falls back to the whole team when nobody covers the region; refuses with a reason otherwise', () => {
    expect(
      pickAssignee({
        templateId: 'tpl-pos-no-print',
        rules,
        regionId: 'reg-shiraz',
        agents,
        state: EMPTY_ROUTING_STATE,
        defaultCapacity: 10,
      }),
    ).toMatchObject({ ok: true, regionFallback: true, assigneeId: 'tech1' });
    expect(
      pickAssignee({
        templateId: 'tpl-unknown',
        rules,
        regionId: 'reg-tehran',
        agents,
        state: EMPTY_ROUTING_STATE,
        defaultCapacity: 10,
      }),
    ).toMatchObject({ ok: false, reason: 'no_rule' });
    expect(
      pickAssignee({
        templateId: 'tpl-pinpad-key-error',
        rules,
        regionId: 'reg-tehran',
        agents,
        state: EMPTY_ROUTING_STATE,
        defaultCapacity: 10,
      }),
    ).toMatchObject({ ok: false, reason: 'no_agents' });
    expect(
      pickAssignee({
        templateId: 'x',
        rule: { team: 'team-field-ops', tier: 'L2' },
        regionId: 'reg-tehran',
        agents,
        state: EMPTY_ROUTING_STATE,
        defaultCapacity: 10,
      }),
    ).toMatchObject({ ok: true, assigneeId: 'tech4' });
    const inactive = agents.map((a) => ({ ...a, active: a.id !== 'tech1' }));
    expect(
      pickAssignee({
        templateId: 'tpl-pos-no-print',
        rules,
        regionId: 'reg-tehran',
        agents: inactive,
        state: EMPTY_ROUTING_STATE,
        defaultCapacity: 10,
        exclude: ['tech2'],
      }),
    ).toMatchObject({ ok: true, regionFallback: true, assigneeId: 'tech3' });
  });

  it('spreads work evenly: over n rounds nobody gets more than one case above anyone else', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 60 }), (people, rounds) => {
        const team = Array.from({ length: people }, (_, i) => agent(`t${i}`, []));
        let state: RoutingState = EMPTY_ROUTING_STATE;
        const count = new Map<string, number>();
        for (let i = 0; i < rounds; i++) {
          const r = pickAssignee({
            templateId: 'tpl-pos-no-print',
            rules,
            regionId: 'reg-tehran',
            agents: team,
            state,
            defaultCapacity: 1000,
          });
          if (!r.ok) throw new Error(r.reason);
          count.set(r.assigneeId, (count.get(r.assigneeId) ?? 0) + 1);
          state = r.state;
        }
        const values = team.map((a) => count.get(a.id) ?? 0);
        expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('duplicate detection', () => {
  const open = (
    id: string,
    createdAt: string,
    extra: Partial<DuplicateCandidate> = {},
  ): DuplicateCandidate => ({
    id,
    equipmentId: 'eq-1',
    templateId: 'tpl-pos-no-print',
    status: 'in_progress',
    createdAt,
    ...extra,
  });
  const existing = [
    open('c-old', '2026-11-01T06:00:00Z'),
    open('c-near', '2026-11-20T06:00:00Z'),
    open('c-closed', '2026-11-21T06:00:00Z', { status: 'closed' }),
    open('c-other-template', '2026-11-21T06:00:00Z', { templateId: 'tpl-card-not-read' }),
    open('c-other-device', '2026-11-21T06:00:00Z', { equipmentId: 'eq-2' }),
    open('c-later-offline', '2026-11-23T06:00:00Z'),
  ];
  const candidate = {
    equipmentId: 'eq-1',
    templateId: 'tpl-pos-no-print',
    createdAt: '2026-11-22T06:00:00Z',
  };

  it('flags open cases of the same template on the same device within the window, nearest first', () => {
    expect(findPossibleDuplicates(candidate, existing).map((c) => c.id)).toEqual([
      'c-later-offline',
      'c-near',
    ]);
    expect(possibleDuplicateOf(candidate, existing)?.id).toBe('c-later-offline');
    expect(findPossibleDuplicates(candidate, existing, 30 * 86_400_000).map((c) => c.id)).toEqual([
      'c-later-offline',
      'c-near',
      'c-old',
    ]);
  });

  it('never matches a case with no device, nor the case itself', () => {
    expect(findPossibleDuplicates({ ...candidate, equipmentId: null }, existing)).toEqual([]);
    expect(findPossibleDuplicates({ ...candidate, id: 'c-near' }, existing).map((c) => c.id)).toEqual([
      'c-later-offline',
    ]);
  });
});

describe('dwell time', () => {
  it('splits time per status, team and person to the second, and the parts add up', () => {
    const report = dwellTimes({
      start: { at: '2026-11-21T05:00:00.900Z', status: 'new', teamId: 'team-help-desk', assigneeId: null },
      events: [
        { at: '2026-11-21T05:10:30Z', status: 'triaged', assigneeId: 'tech1' },
        { at: '2026-11-21T06:00:00Z', status: 'in_progress', teamId: 'team-field-ops', assigneeId: 'tech2' },
        { at: '2026-11-21T07:00:01Z', status: 'pending_customer' },
      ],
      until: '2026-11-21T08:00:01Z',
    });
    expect(report.totalSeconds).toBe(3 * 3600 + 1);
    expect(report.byStatus).toEqual({
      new: { seconds: 630 },
      triaged: { seconds: 2970 },
      in_progress: { seconds: 3601 },
      pending_customer: { seconds: 3600 },
    });
    expect(report.byTeam).toEqual({
      'team-help-desk': { seconds: 3600 },
      'team-field-ops': { seconds: 7201 },
    });
    expect(report.byPerson).toEqual({ tech1: { seconds: 2970 }, tech2: { seconds: 7201 } });
    expect(report.unassignedPersonSeconds).toBe(630);
  });

  it('adds business seconds when given a calendar (lunch and evenings excluded)', () => {
    // Saturday 2026-11-21, Tehran 11:30 → 14:30 is three hours of wall time, two of business time.
    const report = dwellTimes({
      start: {
        at: '2026-11-21T08:00:00Z',
        status: 'in_progress',
        teamId: 'team-field-ops',
        assigneeId: 'tech1',
      },
      events: [],
      until: '2026-11-21T11:00:00Z',
      calendar: referenceCalendar(),
    });
    expect(report.byPerson.tech1).toEqual({ seconds: 10_800, businessSeconds: 7_200 });
  });

  it('the parts always sum to the whole', () => {
    const statuses = ['new', 'triaged', 'in_progress', 'pending_vendor'];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            offset: fc.integer({ min: -1000, max: 200_000 }),
            status: fc.constantFrom(...statuses),
            assigneeId: fc.option(fc.constantFrom('a', 'b'), { nil: null }),
          }),
          { maxLength: 10 },
        ),
        fc.integer({ min: 0, max: 200_000 }),
        (events, length) => {
          const start = Date.parse('2026-11-21T05:00:00Z');
          const r = dwellTimes({
            start: { at: start, status: 'new', teamId: 't', assigneeId: null },
            events: events.map((e) => ({
              at: start + e.offset * 1000,
              status: e.status,
              assigneeId: e.assigneeId,
            })),
            until: start + length * 1000,
          });
          const sum = (bucket: Record<string, { seconds: number }>) =>
            Object.values(bucket).reduce((s, f) => s + f.seconds, 0);
          expect(sum(r.byStatus)).toBe(r.totalSeconds);
          expect(sum(r.byTeam) + r.unassignedTeamSeconds).toBe(r.totalSeconds);
          expect(sum(r.byPerson) + r.unassignedPersonSeconds).toBe(r.totalSeconds);
        },
      ),
    );
  });
});
