import { describe, expect, it } from 'vitest';
import type { CaseDoc, CaseSla, ReferenceData } from '@emdad/domain';
import type { CaseEventDoc } from '@emdad/domain/model/case-events';
import type { BusinessCalendarDefinition, Weekday } from '@emdad/domain/sla/calendar';
import type { SlaTargetTable } from '@emdad/domain/sla/evaluate';
import { caseSlaView, provisionalCaseSla, provisionalSlaContext } from './provisional-sla.ts';

// Tehran time is UTC+03:30: 08:00 local = 04:30Z. 2026-11-21 is a Saturday.
const day = (start: string, end: string) => [{ start, end }];
const calendar = (
  id: string,
  regionIds: string[],
  start: string,
  end: string,
): BusinessCalendarDefinition => ({
  id,
  name: { fa: id, en: id },
  timeZone: 'Asia/Tehran',
  regionIds,
  utcOffsets: [{ from: '2022-09-21T20:30:00Z', offsetMinutes: 210 }],
  observesHolidays: true,
  week: Object.fromEntries(
    ['saturday', 'sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday'].map((d) => [
      d,
      d === 'friday' ? [] : day(start, end),
    ]),
  ) as Record<Weekday, { start: string; end: string }[]>,
});
const calendarDocs = [
  {
    kind: 'calendar',
    data: calendar('cal-a', ['reg-a'], '08:00', '16:00') as unknown as Record<string, unknown>,
  },
  {
    kind: 'calendar',
    data: calendar('cal-b', ['reg-b'], '09:00', '17:00') as unknown as Record<string, unknown>,
  },
];
const row = (merchantTier: 'standard' | 'gold', firstResponseMinutes: number, resolutionMinutes: number) => ({
  templateId: 'tpl-1',
  priority: 'normal' as const,
  merchantTier,
  firstResponseMinutes,
  updateMinutes: 120,
  resolutionMinutes,
});
const targets: SlaTargetTable = {
  version: 1,
  warningShare: 0.75,
  olaMinutes: { L1: 240, L2: 480, L3: 960, product: 2400 },
  escalation: [],
  targets: [row('standard', 60, 240), row('gold', 30, 120)],
};
const reference: Pick<ReferenceData, 'merchants' | 'branches' | 'sla'> = {
  merchants: [
    {
      id: 'm-a',
      name: { fa: 'a', en: 'a' },
      branchId: 'br-a',
      regionId: 'reg-a',
      phone: '',
      tier: 'standard',
    },
    {
      id: 'm-b-gold',
      name: { fa: 'b', en: 'b' },
      branchId: 'br-b',
      regionId: 'reg-b',
      phone: '',
      tier: 'gold',
    },
  ],
  branches: [
    { id: 'br-a', code: 'A', name: { fa: 'a', en: 'a' }, regionId: 'reg-a' },
    { id: 'br-b', code: 'B', name: { fa: 'b', en: 'b' }, regionId: 'reg-b' },
  ],
  sla: { targets, defaultCalendarId: 'cal-a', duplicateWindowMs: 7 * 86_400_000 },
};

const created = '2026-11-21T04:30:00.000Z'; // Saturday 08:00 Tehran
const baseCase = {
  id: 'c-1',
  templateId: 'tpl-1',
  priority: 'normal' as const,
  supportTier: null,
  merchantId: 'm-a',
  branchId: 'br-a',
  createdAt: created,
  updatedAt: created,
  status: 'new' as CaseDoc['status'],
  sla: null as CaseDoc['sla'],
};
const at = (iso: string) => Date.parse(iso);

describe('provisionalSlaContext', () => {
  it('needs the replicated calendars and the targets the server sent', () => {
    expect(provisionalSlaContext(null, calendarDocs)).toBeNull();
    expect(provisionalSlaContext({ ...reference, sla: undefined }, calendarDocs)).toBeNull();
    expect(provisionalSlaContext(reference, [])).toBeNull();
    expect(provisionalSlaContext(reference, calendarDocs)).not.toBeNull();
  });
});

describe('provisionalCaseSla (the server engine’s code over local data)', () => {
  const context = provisionalSlaContext(reference, calendarDocs)!;
  const now = at('2026-11-21T05:00:00.000Z'); // Saturday 08:30 Tehran

  it('counts the merchant region’s business hours with the (template, priority, tier) targets', () => {
    const sla = provisionalCaseSla(baseCase, context, now)!;
    expect(sla.calendarId).toBe('cal-a');
    expect(sla.firstResponseDueAt).toBe('2026-11-21T05:30:00.000Z'); // 09:00 Tehran
    expect(sla.resolutionDueAt).toBe('2026-11-21T08:30:00.000Z'); // 12:00 Tehran
    expect(sla.state).toBe('on_track');
  });

  it('takes the gold tier’s targets and region b’s calendar (starts 09:00) for a gold merchant there', () => {
    const sla = provisionalCaseSla({ ...baseCase, merchantId: 'm-b-gold' }, context, now)!;
    expect(sla.calendarId).toBe('cal-b');
    expect(sla.firstResponseDueAt).toBe('2026-11-21T06:00:00.000Z'); // 09:00 + 30 min Tehran
  });

  it('falls back to the branch’s region without a merchant', () => {
    const sla = provisionalCaseSla({ ...baseCase, merchantId: null, branchId: 'br-b' }, context, now)!;
    expect(sla.calendarId).toBe('cal-b');
  });

  it('skips a holiday from the replicated holiday documents', () => {
    const withHoliday = provisionalSlaContext(reference, [
      ...calendarDocs,
      { kind: 'holiday', data: { gregorian: '2026-11-21' } },
    ])!;
    // Saturday off: the clock starts Sunday 08:00 Tehran.
    expect(provisionalCaseSla(baseCase, withHoliday, now)!.firstResponseDueAt).toBe(
      '2026-11-22T05:30:00.000Z',
    );
  });

  it('counts a public reply from the local timeline as the first response', () => {
    const reply = {
      id: 'e-1',
      caseId: 'c-1',
      kind: 'comment',
      visibility: 'public',
      authorId: 'u-1',
      at: '2026-11-21T04:50:00.000Z',
    } as CaseEventDoc;
    const sla = provisionalCaseSla(baseCase, context, now, [reply])!;
    expect(sla.targets?.firstResponse.state).toBe('met');
  });

  it('is null for a template without targets', () => {
    expect(provisionalCaseSla({ ...baseCase, templateId: 'tpl-unknown' }, context, now)).toBeNull();
  });
});

describe('caseSlaView (what the list and the created page show)', () => {
  const context = provisionalSlaContext(reference, calendarDocs)!;
  const now = at('2026-11-21T05:00:00.000Z');

  it('shows the provisional first-response and resolution due times of a case the server has not evaluated', () => {
    expect(caseSlaView(baseCase, context, now)).toEqual({
      state: 'on_track',
      dueAt: '2026-11-21T05:30:00.000Z',
      firstResponseDueAt: '2026-11-21T05:30:00.000Z',
      resolutionDueAt: '2026-11-21T08:30:00.000Z',
      provisional: true,
    });
  });

  it('shows a case waiting on the customer as paused, without due times', () => {
    const waiting = {
      ...baseCase,
      status: 'pending_customer' as const,
      updatedAt: '2026-11-21T04:45:00.000Z',
    };
    expect(caseSlaView(waiting, context, at('2026-11-21T06:30:00.000Z'))).toEqual({
      state: 'paused',
      dueAt: null,
      firstResponseDueAt: null,
      resolutionDueAt: null,
      provisional: true,
    });
  });

  it('shows the server’s sla once it has arrived, not the provisional one', () => {
    const server: CaseSla = {
      state: 'warning',
      firstResponseDueAt: '2026-11-21T06:00:00.000Z',
      resolutionDueAt: '2026-11-21T09:00:00.000Z',
    };
    expect(caseSlaView({ ...baseCase, sla: server }, context, now)).toEqual({
      state: 'warning',
      dueAt: '2026-11-21T06:00:00.000Z',
      firstResponseDueAt: '2026-11-21T06:00:00.000Z',
      resolutionDueAt: '2026-11-21T09:00:00.000Z',
      provisional: false,
    });
  });

  it('shows nothing (and claims nothing provisional) when it cannot compute', () => {
    expect(caseSlaView(baseCase, null, now)).toMatchObject({ state: 'none', provisional: false });
  });
});
