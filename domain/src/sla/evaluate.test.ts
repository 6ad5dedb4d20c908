import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { businessMinutesBetween } from './calendar.ts';
import {
  evaluateCaseSla,
  evaluateClock,
  findTargets,
  indexTargets,
  nextSupportTier,
  tierAfterOlaBreach,
  toCaseSla,
  type SlaCaseInput,
  type SlaEvent,
} from './evaluate.ts';
import { acceptDeviceEventTime } from './skew.ts';
import { referenceCalendar } from './testing.ts';

const calendar = referenceCalendar();
const tehran = (local: string) => new Date(`${local}:00+03:30`);
const iso = (local: string) => tehran(local).toISOString();
const targets = { firstResponseMinutes: 60, updateMinutes: 240, resolutionMinutes: 480 };
// Saturday 1405-08-30 (2026-11-21), 08:00 Tehran.
const created = tehran('2026-11-21T08:00');
const kase = (events: SlaEvent[], extra: Partial<SlaCaseInput> = {}): SlaCaseInput => ({
  createdAt: created,
  events,
  priority: 'normal',
  tier: 'L1',
  ...extra,
});
const evaluate = (
  events: SlaEvent[],
  now: string,
  extra: Partial<SlaCaseInput> = {},
  applied: string[] = [],
) =>
  evaluateCaseSla(kase(events, extra), { calendar, targets, now: tehran(now), warningShare: 0.75, applied });

describe('SLA evaluation of a case', () => {
  it('a fresh case is on track with due times in business time', () => {
    const e = evaluate([], '2026-11-21T08:30');
    expect(e.firstResponse).toMatchObject({
      state: 'on_track',
      elapsedMinutes: 30,
      remainingMinutes: 30,
      dueAt: iso('2026-11-21T09:00'),
      warningAt: iso('2026-11-21T08:45'),
    });
    // 480 business minutes: Saturday holds 420 (lunch excluded), then Sunday 08:00–09:00.
    expect(e.resolution).toMatchObject({ state: 'on_track', dueAt: iso('2026-11-22T09:00') });
    expect(e.update.state).toBe('not_started');
    expect(e.overall).toBe('on_track');
    expect(e.actions).toEqual([]);
    expect(toCaseSla(e, 'cal-tehran')).toMatchObject({
      firstResponseDueAt: iso('2026-11-21T09:00'),
      resolutionDueAt: iso('2026-11-22T09:00'),
      updateDueAt: null,
      state: 'on_track',
      paused: false,
      calendarId: 'cal-tehran',
      targets: {
        firstResponse: { state: 'on_track', dueAt: iso('2026-11-21T09:00'), remainingMinutes: null },
      },
    });
  });

  it('warns at the configured share and asks to notify the assignee once', () => {
    const e = evaluate([], '2026-11-21T08:50');
    expect(e.firstResponse.state).toBe('warning');
    expect(e.overall).toBe('warning');
    expect(e.actions).toEqual([
      {
        key: 'firstResponse:warning:notify_assignee',
        type: 'notify_assignee',
        target: 'firstResponse',
        level: 'warning',
        dueSince: iso('2026-11-21T08:45'),
      },
    ]);
    expect(evaluate([], '2026-11-21T08:50', {}, ['firstResponse:warning:notify_assignee']).actions).toEqual(
      [],
    );
  });

  it('breaches after 100% and escalates: notify the supervisor, raise the priority', () => {
    const e = evaluate([], '2026-11-21T09:10');
    expect(e.firstResponse).toMatchObject({
      state: 'breached',
      breachedAt: iso('2026-11-21T09:00'),
      remainingMinutes: -10,
    });
    expect(e.overall).toBe('breached');
    const breach = e.actions.filter((a) => a.level === 'breach');
    expect(breach.map((a) => a.type)).toEqual(['notify_supervisor', 'raise_priority']);
    expect(breach.find((a) => a.type === 'raise_priority')).toMatchObject({
      priorityTo: 'high',
      dueSince: iso('2026-11-21T09:00'),
    });
  });

  it('meeting a target at exactly 100% is on time', () => {
    const e = evaluate([{ type: 'customer_update', at: tehran('2026-11-21T09:00') }], '2026-11-21T09:30');
    expect(e.firstResponse).toMatchObject({ state: 'met', metAt: iso('2026-11-21T09:00'), breachedAt: null });
  });

  it('pauses while the case waits on the customer, and the UI can say since when', () => {
    const events: SlaEvent[] = [
      { type: 'status', at: tehran('2026-11-21T08:30'), status: 'pending_customer' },
    ];
    const e = evaluate(events, '2026-11-21T11:00');
    expect(e).toMatchObject({
      paused: true,
      pausedReason: 'pending_customer',
      pausedSince: iso('2026-11-21T08:30'),
      overall: 'paused',
    });
    expect(e.firstResponse).toMatchObject({
      state: 'paused',
      elapsedMinutes: 30,
      dueAt: iso('2026-11-21T11:30'),
    });
    expect(e.actions).toEqual([]);
    const resumed = evaluate(
      [...events, { type: 'status', at: tehran('2026-11-21T11:00'), status: 'in_progress' }],
      '2026-11-21T11:20',
    );
    expect(resumed.paused).toBe(false);
    expect(resumed.firstResponse).toMatchObject({ state: 'warning', elapsedMinutes: 50 });
  });

  it('measures the longest silence towards the customer from the first response on', () => {
    const events: SlaEvent[] = [{ type: 'customer_update', at: tehran('2026-11-21T08:40') }];
    expect(evaluate(events, '2026-11-21T12:00').update).toMatchObject({
      state: 'warning',
      elapsedMinutes: 200,
    });
    const late = evaluate(events, '2026-11-21T14:00');
    // 08:40–12:30 is 230 minutes, then 10 more after lunch.
    expect(late.update).toMatchObject({
      state: 'breached',
      breachedAt: iso('2026-11-21T13:40'),
      longestMinutes: 260,
    });
    const silenceStart = tehran('2026-11-21T08:40').getTime() / 1000;
    expect(
      late.actions.find((a) => a.key === `update:breach:notify_supervisor:${silenceStart}`),
    ).toMatchObject({
      dueSince: iso('2026-11-21T13:40'),
    });
    // A later update ends the silence, but the breach stays on record.
    const after = evaluate(
      [...events, { type: 'customer_update', at: tehran('2026-11-21T14:00') }],
      '2026-11-21T14:30',
    );
    expect(after.update).toMatchObject({ state: 'breached', elapsedMinutes: 30, longestMinutes: 260 });
  });

  it('escalates every silence that goes past the target, once each', () => {
    const events: SlaEvent[] = [
      { type: 'customer_update', at: tehran('2026-11-21T08:10') },
      { type: 'customer_update', at: tehran('2026-11-21T14:00') }, // a 4 h 50 min silence
    ];
    const first = evaluate(events, '2026-11-22T08:00');
    const firstKeys = first.actions
      .filter((a) => a.target === 'update' && a.level === 'breach')
      .map((a) => a.key);
    expect(firstKeys).toHaveLength(1);
    // Already applied: nothing new until the next silence breaches, which escalates again.
    const applied = first.actions.map((a) => a.key);
    expect(
      evaluate(events, '2026-11-22T08:00', {}, applied).actions.filter((a) => a.target === 'update'),
    ).toEqual([]);
    const again = evaluate(events, '2026-11-22T12:00', {}, applied);
    const newBreach = again.actions.filter((a) => a.target === 'update' && a.level === 'breach');
    expect(newBreach).toHaveLength(1);
    expect(newBreach[0]!.key).not.toBe(firstKeys[0]);
    expect(again.update.breachedAt).toBe(first.update.breachedAt); // the first breach stays on record
  });

  it('stops at resolution, and a reopened case resumes where it stopped', () => {
    const resolved: SlaEvent[] = [
      { type: 'status', at: tehran('2026-11-21T08:10'), status: 'in_progress' },
      { type: 'status', at: tehran('2026-11-21T08:50'), status: 'resolved' },
    ];
    const e = evaluate(resolved, '2026-11-23T10:00');
    expect(e.stopped).toBe(true);
    expect(e.resolution).toMatchObject({
      state: 'met',
      elapsedMinutes: 50,
      metAt: iso('2026-11-21T08:50'),
      dueAt: iso('2026-11-22T09:00'),
    });
    expect(e.firstResponse).toMatchObject({ state: 'met', metAt: iso('2026-11-21T08:50') }); // resolving answers the customer
    expect(e.update.state).toBe('met');
    const reopened = evaluate(
      [...resolved, { type: 'status', at: tehran('2026-11-22T08:00'), status: 'reopened' }],
      '2026-11-22T09:00',
    );
    expect(reopened.resolution).toMatchObject({ state: 'on_track', elapsedMinutes: 110 });
  });

  it('moves a breached L1 case to L2, but not a case already beyond L1; never raises above urgent', () => {
    const l1 = evaluate([], '2026-11-22T10:00');
    expect(l1.resolution.state).toBe('breached');
    expect(l1.actions.find((a) => a.type === 'move_to_l2')).toMatchObject({
      key: 'resolution:breach:move_to_l2',
      tierTo: 'L2',
    });
    // Two raise_priority actions (first response, resolution) raise step by step.
    expect(l1.actions.filter((a) => a.type === 'raise_priority').map((a) => a.priorityTo)).toEqual([
      'high',
      'urgent',
    ]);
    const l2 = evaluate([], '2026-11-22T10:00', { tier: 'L2', priority: 'urgent' });
    expect(l2.actions.some((a) => a.type === 'move_to_l2' || a.type === 'raise_priority')).toBe(false);
    expect(nextSupportTier('L3')).toBe('product');
    expect(nextSupportTier('product')).toBeNull();
  });

  it('hands a hop past its OLA to the next tier only under the next_tier policy', () => {
    expect(tierAfterOlaBreach('next_tier', 'L1')).toBe('L2');
    expect(tierAfterOlaBreach('next_tier', 'L2')).toBe('L3');
    expect(tierAfterOlaBreach('next_tier', 'L3')).toBe('product');
    expect(tierAfterOlaBreach('next_tier', 'product')).toBeNull();
    expect(tierAfterOlaBreach('notify', 'L1')).toBeNull();
    expect(tierAfterOlaBreach(undefined, 'L1')).toBeNull();
  });

  it('ignores events after now and counts events before creation at creation', () => {
    const e = evaluate(
      [
        { type: 'customer_update', at: tehran('2026-11-21T07:00') },
        { type: 'status', at: tehran('2026-11-21T12:00'), status: 'resolved' },
      ],
      '2026-11-21T09:00',
    );
    expect(e.firstResponse).toMatchObject({ state: 'met', metAt: iso('2026-11-21T08:00') });
    expect(e.stopped).toBe(false);
  });

  it('paused time never counts: elapsed + paused business time = all business time', () => {
    const start = created.getTime();
    const event = fc.record({
      minute: fc.integer({ min: 0, max: 14 * 24 * 60 }),
      status: fc.constantFrom('in_progress', 'pending_customer', 'pending_vendor') as fc.Arbitrary<
        'in_progress' | 'pending_customer' | 'pending_vendor'
      >,
    });
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 8 }),
        fc.integer({ min: 0, max: 15 * 24 * 60 }),
        (raw, nowMinute) => {
          const now = start + nowMinute * 60_000;
          const sorted = [...raw].sort((a, b) => a.minute - b.minute);
          const events: SlaEvent[] = sorted.map((r) => ({
            type: 'status',
            at: start + r.minute * 60_000,
            status: r.status,
          }));
          const e = evaluateCaseSla(kase(events), { calendar, targets, now });
          // Rebuild the paused periods independently.
          let status = 'new';
          let since = start;
          let paused = 0;
          for (const r of sorted) {
            const at = start + r.minute * 60_000;
            if (at > now) break;
            if (r.status === status) continue;
            if (status.startsWith('pending')) paused += businessMinutesBetween(calendar, since, at);
            status = r.status;
            since = at;
          }
          if (status.startsWith('pending')) paused += businessMinutesBetween(calendar, since, now);
          expect(e.resolution.elapsedMinutes + paused).toBeCloseTo(
            businessMinutesBetween(calendar, start, now),
            6,
          );
          // Elapsed time never runs backwards as now advances.
          const later = evaluateCaseSla(kase(events), { calendar, targets, now: now + 3_600_000 });
          expect(later.resolution.elapsedMinutes).toBeGreaterThanOrEqual(e.resolution.elapsedMinutes);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('evaluates 100,000 cases (a generous bound, not a benchmark)', () => {
    const started = Date.now();
    let breached = 0;
    for (let i = 0; i < 100_000; i++) {
      const createdAt = created.getTime() + (i % 5000) * 60_000;
      const e = evaluateCaseSla(
        {
          createdAt,
          events: [{ type: 'customer_update', at: createdAt + 1_800_000 }],
          priority: 'normal',
          tier: 'L1',
        },
        { calendar, targets, now: created.getTime() + 7 * 86_400_000 },
      );
      if (e.overall === 'breached') breached++;
    }
    expect(breached).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});

describe('targets table and internal clocks', () => {
  const table = {
    targets: [
      {
        templateId: 't1',
        priority: 'high' as const,
        merchantTier: 'gold' as const,
        firstResponseMinutes: 15,
        updateMinutes: 60,
        resolutionMinutes: 240,
      },
    ],
  };
  it('finds targets by template, priority and merchant tier', () => {
    expect(findTargets(table, 't1', 'high', 'gold')).toEqual({
      firstResponseMinutes: 15,
      updateMinutes: 60,
      resolutionMinutes: 240,
    });
    expect(findTargets(table, 't1', 'low', 'gold')).toBeUndefined();
    expect(indexTargets(table)('t1', 'high', 'gold')?.resolutionMinutes).toBe(240);
  });

  it('an OLA clock pauses with an open pause and reports when it would fall due', () => {
    const e = evaluateClock({
      calendar,
      start: created,
      now: tehran('2026-11-21T10:00'),
      targetMinutes: 240,
      pauses: [{ from: tehran('2026-11-21T09:00'), to: null }],
    });
    expect(e).toMatchObject({ state: 'paused', elapsedMinutes: 60, dueAt: iso('2026-11-21T14:00') });
    const resumed = evaluateClock({
      calendar,
      start: created,
      now: tehran('2026-11-21T10:00'),
      targetMinutes: 240,
      pauses: [{ from: tehran('2026-11-21T09:00'), to: tehran('2026-11-21T10:00') }],
    });
    expect(resumed).toMatchObject({ state: 'on_track', elapsedMinutes: 60 });
    const done = evaluateClock({
      calendar,
      start: created,
      stop: tehran('2026-11-21T11:45'),
      now: tehran('2026-11-22T10:00'),
      targetMinutes: 240,
    });
    expect(done).toMatchObject({ state: 'met', elapsedMinutes: 225, metAt: iso('2026-11-21T11:45') });
  });
});

describe('device event time skew', () => {
  const serverNow = Date.parse('2026-11-21T06:00:00Z');
  it('accepts offline work at its own time when the device clock is within the bound', () => {
    const r = acceptDeviceEventTime({
      eventAt: serverNow - 3 * 3_600_000,
      deviceNow: serverNow + 60_000,
      serverNow,
      boundMs: 300_000,
    });
    expect(r).toEqual({
      at: new Date(serverNow - 3 * 3_600_000).toISOString(),
      skewMs: 60_000,
      flagged: false,
      reason: 'within_bound',
    });
  });
  it('corrects and flags times from a device whose clock is off beyond the bound', () => {
    const r = acceptDeviceEventTime({
      eventAt: serverNow + 3_600_000 - 600_000,
      deviceNow: serverNow + 3_600_000,
      serverNow,
      boundMs: 300_000,
    });
    expect(r).toMatchObject({
      at: new Date(serverNow - 600_000).toISOString(),
      skewMs: 3_600_000,
      flagged: true,
      reason: 'skew_corrected',
    });
  });
  it('clamps a slightly-ahead device clock to the server’s now without flagging it', () => {
    const r = acceptDeviceEventTime({
      eventAt: serverNow + 60_000,
      deviceNow: serverNow + 60_000,
      serverNow,
      boundMs: 300_000,
    });
    expect(r).toEqual({
      at: new Date(serverNow).toISOString(),
      skewMs: 60_000,
      flagged: false,
      reason: 'within_bound',
    });
  });
  it('never records an event in the server’s future, nor before its case', () => {
    expect(acceptDeviceEventTime({ eventAt: serverNow + 3_600_000, serverNow })).toMatchObject({
      at: new Date(serverNow).toISOString(),
      flagged: true,
      reason: 'future_clamped',
    });
    expect(acceptDeviceEventTime({ eventAt: serverNow + 1000, serverNow })).toMatchObject({
      at: new Date(serverNow).toISOString(),
      flagged: false,
    });
    expect(
      acceptDeviceEventTime({ eventAt: serverNow - 10_000, serverNow, notBefore: serverNow - 5_000 }),
    ).toMatchObject({ flagged: true, reason: 'not_before_clamped' });
  });
});
