import { describe, expect, it } from 'vitest';
import { compileCalendar } from './calendar.ts';
import { notificationDeliveryTime, type SlaTargetTable } from './evaluate.ts';
import { generateHolidayTable, holidayDates } from './holidays.ts';
import { createSlaRecomputer, evaluateHops, syntheticOpenCases } from './recompute.ts';
import { REFERENCE_CALENDAR_DEFINITION, referenceCalendar } from './testing.ts';

const tehran = (local: string) => new Date(`${local}:00+03:30`);
const holidays = holidayDates(generateHolidayTable(1404, 1406));
// An Isfahan calendar that starts at 07:30, to tell the two apart.
const isfahan = compileCalendar(
  {
    ...REFERENCE_CALENDAR_DEFINITION,
    id: 'cal-isfahan',
    regionIds: ['reg-isfahan'],
    week: { ...REFERENCE_CALENDAR_DEFINITION.week, saturday: [{ start: '07:30', end: '12:30' }] },
  },
  holidays,
);
const calendars = [referenceCalendar(), isfahan];
const table: SlaTargetTable = {
  version: 1,
  warningShare: 0.8,
  olaMinutes: { L1: 60, L2: 120, L3: 240, product: 480 },
  escalation: [{ target: 'firstResponse', level: 'breach', actions: ['notify_supervisor'] }],
  targets: (['low', 'normal', 'high', 'urgent'] as const).flatMap((priority) =>
    (['standard', 'gold', 'platinum'] as const).map((merchantTier) => ({
      templateId: 'tpl-a',
      priority,
      merchantTier,
      firstResponseMinutes: 30,
      updateMinutes: 120,
      resolutionMinutes: 600,
    })),
  ),
};

describe('SLA recomputation over many cases', () => {
  const recompute = createSlaRecomputer({ calendars, table, defaultCalendarId: 'cal-tehran' });
  const base = {
    id: 'c1',
    templateId: 'tpl-a',
    priority: 'normal' as const,
    merchantTier: 'gold' as const,
    tier: 'L1' as const,
    events: [],
  };

  it("picks the merchant region's calendar, the table's warning share and escalation policy", () => {
    const now = tehran('2026-11-21T07:40');
    const created = tehran('2026-11-21T07:30');
    const inIsfahan = recompute({ ...base, regionId: 'reg-isfahan', createdAt: created }, now);
    expect(inIsfahan).toMatchObject({
      ok: true,
      calendarId: 'cal-isfahan',
      evaluation: { firstResponse: { elapsedMinutes: 10 } },
    });
    const inTehran = recompute({ ...base, regionId: 'reg-tehran', createdAt: created }, now);
    expect(inTehran).toMatchObject({
      ok: true,
      calendarId: 'cal-tehran',
      evaluation: { firstResponse: { elapsedMinutes: 0 } },
    });
    expect(recompute({ ...base, regionId: null, createdAt: created }, now)).toMatchObject({
      calendarId: 'cal-tehran',
    });
    const late = recompute(
      { ...base, regionId: 'reg-tehran', createdAt: created },
      tehran('2026-11-21T09:00'),
    );
    expect(late.ok && late.evaluation.actions.map((a) => a.key)).toEqual([
      'firstResponse:breach:notify_supervisor',
    ]);
  });

  it('says which cases it cannot evaluate', () => {
    expect(recompute({ ...base, templateId: 'tpl-unknown', regionId: null, createdAt: 0 }, 1)).toEqual({
      ok: false,
      caseId: 'c1',
      reason: 'no_targets',
    });
  });

  it('recomputes 100,000 synthetic open cases (a generous bound, not a benchmark)', () => {
    const now = tehran('2026-11-21T10:00');
    const cases = syntheticOpenCases({
      count: 100_000,
      now,
      seed: 7,
      templateIds: ['tpl-a'],
      regionIds: ['reg-tehran', 'reg-isfahan', null],
    });
    expect(
      syntheticOpenCases({ count: 3, now, seed: 7, templateIds: ['tpl-a'], regionIds: [null] })[2],
    ).toEqual({ ...cases[2], regionId: null });
    const started = Date.now();
    const states = new Map<string, number>();
    for (const c of cases) {
      const r = recompute(c, now);
      if (!r.ok) throw new Error(r.reason);
      states.set(r.evaluation.overall, (states.get(r.evaluation.overall) ?? 0) + 1);
    }
    expect(states.get('breached')).toBeGreaterThan(0);
    expect(states.get('paused')).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(90_000);
  });
});

describe('hops and notifications', () => {
  it('gives each hop of the escalation ladder its own OLA clock', () => {
    const hops = evaluateHops({
      calendar: referenceCalendar(),
      olaMinutes: table.olaMinutes,
      now: tehran('2026-11-21T12:00'),
      hops: [
        { tier: 'L2', from: tehran('2026-11-21T09:00'), to: null },
        { tier: 'L1', from: tehran('2026-11-21T08:00'), to: tehran('2026-11-21T09:00') },
      ],
    });
    expect(hops.map((h) => [h.tier, h.evaluation.state, h.evaluation.elapsedMinutes])).toEqual([
      ['L1', 'met', 60],
      ['L2', 'breached', 180],
    ]);
  });

  it("holds a notification until the recipient's next working window", () => {
    const cal = referenceCalendar();
    expect(notificationDeliveryTime(cal, tehran('2026-11-26T18:00')).toISOString()).toBe(
      tehran('2026-11-28T08:00').toISOString(),
    );
    expect(notificationDeliveryTime(cal, tehran('2026-11-21T10:00')).toISOString()).toBe(
      tehran('2026-11-21T10:00').toISOString(),
    );
  });
});
