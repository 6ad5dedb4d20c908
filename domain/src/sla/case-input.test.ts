import { describe, expect, it } from 'vitest';
import { isHoliday, type BusinessCalendarDefinition } from './calendar.ts';
import { asMerchantTier, calendarsFromReference, caseRegionId, slaCaseRecord } from './case-input.ts';

const definition = (id: string, regionIds: string[]): BusinessCalendarDefinition => ({
  id,
  name: { fa: id, en: id },
  timeZone: 'Asia/Tehran',
  regionIds,
  utcOffsets: [{ from: '2022-09-21T20:30:00Z', offsetMinutes: 210 }],
  observesHolidays: true,
  week: {
    saturday: [{ start: '08:00', end: '16:00' }],
    sunday: [{ start: '08:00', end: '16:00' }],
    monday: [{ start: '08:00', end: '16:00' }],
    tuesday: [{ start: '08:00', end: '16:00' }],
    wednesday: [{ start: '08:00', end: '16:00' }],
    thursday: [{ start: '08:00', end: '13:00' }],
    friday: [],
  },
});
const data = (d: object) => d as Record<string, unknown>;

describe('calendarsFromReference', () => {
  it('is empty without calendar documents (the caller decides the fallback)', () => {
    expect(calendarsFromReference([{ kind: 'holiday', data: { gregorian: '2026-11-21' } }])).toEqual([]);
  });

  it('compiles every calendar document with the holiday documents’ Gregorian dates', () => {
    const calendars = calendarsFromReference([
      { kind: 'calendar', data: data(definition('cal-a', ['reg-a'])) },
      { kind: 'holiday', data: { gregorian: '2026-11-21' } },
      { kind: 'holiday', data: { jalali: 'no gregorian: ignored' } },
      { kind: 'template', data: { id: 'tpl-1' } },
    ]);
    expect(calendars.map((c) => c.id)).toEqual(['cal-a']);
    // Saturday 2026-11-21, 10:00 Tehran, a working day but for the holiday document.
    expect(isHoliday(calendars[0]!, '2026-11-21T06:30:00.000Z')).toBe(true);
    expect(isHoliday(calendars[0]!, '2026-11-22T06:30:00.000Z')).toBe(false);
  });
});

describe('slaCaseRecord (the engine input, the same on server and client)', () => {
  it('takes the merchant’s region and tier, else the branch’s region and the standard tier', () => {
    expect(caseRegionId({ regionId: 'reg-a', tier: 'gold' }, 'reg-b')).toBe('reg-a');
    expect(caseRegionId(undefined, 'reg-b')).toBe('reg-b');
    expect(asMerchantTier('platinum')).toBe('platinum');
    expect(asMerchantTier('diamond')).toBe('standard');
    const record = slaCaseRecord({
      doc: { id: 'c-1', templateId: 'tpl-1', priority: 'high', supportTier: null },
      merchant: undefined,
      branchRegionId: 'reg-b',
      createdAt: 1000,
      statuses: [
        { at: 3000, status: 'pending_customer' },
        { at: 1000, status: 'new' },
      ],
      customerUpdates: [2000],
      applied: new Set(['k']),
    });
    expect(record).toEqual({
      id: 'c-1',
      templateId: 'tpl-1',
      priority: 'high',
      merchantTier: 'standard',
      regionId: 'reg-b',
      createdAt: 1000,
      initialStatus: 'new',
      events: [
        { type: 'status', at: 1000, status: 'new' },
        { type: 'status', at: 3000, status: 'pending_customer' },
        { type: 'customer_update', at: 2000 },
      ],
      tier: 'L1',
      applied: ['k'],
    });
  });
});
