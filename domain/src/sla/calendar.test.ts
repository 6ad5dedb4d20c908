import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addBusinessMinutes,
  addBusinessSecondsAt,
  businessMinutesBetween,
  businessSecondsBetween,
  businessSecondsInRange,
  CalendarDefinitionError,
  compileCalendar,
  isBusinessTime,
  isHoliday,
  localSecondOf,
  nextBusinessInstant,
  normalisePauses,
  WEEKDAYS,
  type BusinessCalendarDefinition,
} from './calendar.ts';
import { generateHolidayTable, holidayDates } from './holidays.ts';
import { REFERENCE_CALENDAR_DEFINITION, referenceCalendar } from './testing.ts';

const cal = referenceCalendar();
const HOLIDAYS = new Set(holidayDates(generateHolidayTable(1404, 1406)));
const TEHRAN = 210 * 60;

/** A Tehran wall-clock time as a Date. */
const tehran = (local: string) => new Date(`${local}:00+03:30`);
const at = (d: Date) => d.toISOString();

// Instants across Jalali 1404–1406 (2025-03-21 … 2028-03-19), to the second.
const FROM = Date.parse('2025-03-15T00:00:00Z') / 1000;
const TO = Date.parse('2028-03-10T00:00:00Z') / 1000;
const instant = fc.integer({ min: FROM, max: TO });
const seconds = fc.integer({ min: 0, max: 60 * 60 * 7 * 5 * 30 }); // up to ~30 working weeks
const shortSeconds = fc.integer({ min: 0, max: 60 * 60 * 40 });

const clock = (text: string) => {
  const [h, m] = text.split(':').map(Number) as [number, number];
  return h * 3600 + m * 60;
};

/**
 * Independent oracle: walks local days and intersects each window, as UTC intervals, with [a, b).
 * Uses the definition and the holiday list directly, not the compiled calendar.
 */
function oracleBetween(def: BusinessCalendarDefinition, holidays: Set<string>, a: number, b: number): number {
  let total = 0;
  const firstDay = Math.floor((a + TEHRAN) / 86400) - 1;
  const lastDay = Math.floor((b + TEHRAN) / 86400) + 1;
  for (let d = firstDay; d <= lastDay; d++) {
    const date = new Date(d * 86_400_000);
    if (holidays.has(date.toISOString().slice(0, 10))) continue;
    for (const w of def.week[WEEKDAYS[date.getUTCDay()]!]) {
      const ws = d * 86400 + clock(w.start) - TEHRAN;
      const we = d * 86400 + clock(w.end) - TEHRAN;
      total += Math.max(0, Math.min(b, we) - Math.max(a, ws));
    }
  }
  return total;
}

describe('business calendar: worked examples (Tehran)', () => {
  it('does not count the lunch break', () => {
    // Saturday 1405-09-01 (2026-11-22 is a Sunday; 2026-11-21 a Saturday)
    expect(at(addBusinessMinutes(cal, tehran('2026-11-21T12:00'), 60))).toBe(at(tehran('2026-11-21T14:00')));
    expect(businessMinutesBetween(cal, tehran('2026-11-21T12:00'), tehran('2026-11-21T14:00'))).toBe(60);
    expect(isBusinessTime(cal, tehran('2026-11-21T12:45'))).toBe(false);
    expect(at(nextBusinessInstant(cal, tehran('2026-11-21T12:45')))).toBe(at(tehran('2026-11-21T13:30')));
  });

  it('filling a window exactly ends at its close, not after the next break', () => {
    expect(at(addBusinessMinutes(cal, tehran('2026-11-21T08:00'), 270))).toBe(at(tehran('2026-11-21T12:30')));
    expect(at(addBusinessMinutes(cal, tehran('2026-11-21T08:00'), 420))).toBe(at(tehran('2026-11-21T16:00')));
    expect(at(addBusinessMinutes(cal, tehran('2026-11-26T08:00'), 300))).toBe(at(tehran('2026-11-26T13:00')));
  });

  it('works Thursday mornings only and skips Friday', () => {
    // Thursday 2026-11-26 12:00 + 2 h: one hour to 13:00, Friday off, Saturday 08:00–09:00.
    expect(at(addBusinessMinutes(cal, tehran('2026-11-26T12:00'), 120))).toBe(at(tehran('2026-11-28T09:00')));
    expect(isBusinessTime(cal, tehran('2026-11-26T13:00'))).toBe(false);
    expect(isBusinessTime(cal, tehran('2026-11-27T10:00'))).toBe(false);
  });

  it('skips an official holiday (22 Bahman 1404, a Wednesday)', () => {
    expect(isHoliday(cal, tehran('2026-02-11T10:00'))).toBe(true);
    // Tuesday 15:00 + 2 h: to 16:00, Wednesday is a holiday, Thursday 08:00–09:00.
    expect(at(addBusinessMinutes(cal, tehran('2026-02-10T15:00'), 120))).toBe(at(tehran('2026-02-12T09:00')));
  });

  it('crosses the Jalali year end: Esfand 29 1404 → Nowruz 1405 (Farvardin 1–4 off)', () => {
    // Thursday 28 Esfand 08:00 + 600 min: Thu 300, Fri 29 Esfand (also Oil Day), Sat–Tue
    // Nowruz 1–4 Farvardin, then Wednesday 5 Farvardin 08:00–12:30 and 13:30–14:00.
    expect(at(addBusinessMinutes(cal, tehran('2026-03-19T08:00'), 600))).toBe(at(tehran('2026-03-25T14:00')));
    expect(businessMinutesBetween(cal, tehran('2026-03-19T13:00'), tehran('2026-03-25T08:00'))).toBe(0);
  });

  it('crosses the Gregorian year end: Thursday 31 December 2026 → Saturday 2 January 2027', () => {
    expect(at(addBusinessMinutes(cal, tehran('2026-12-31T12:00'), 120))).toBe(at(tehran('2027-01-02T09:00')));
  });

  it('adds long spans without walking them: a year of working time in one call', () => {
    const start = tehran('2025-03-22T08:00');
    const due = addBusinessMinutes(cal, start, 100_000);
    expect(businessMinutesBetween(cal, start, due)).toBe(100_000);
    expect(due.getTime() - start.getTime()).toBeGreaterThan(300 * 86_400_000);
  });

  it('zero minutes returns the start; negative spans are signed', () => {
    const start = tehran('2026-11-27T10:00'); // a Friday
    expect(addBusinessMinutes(cal, start, 0).getTime()).toBe(start.getTime());
    expect(businessMinutesBetween(cal, tehran('2026-11-21T14:00'), tehran('2026-11-21T12:00'))).toBe(-60);
    expect(() => addBusinessMinutes(cal, start, -1)).toThrow(RangeError);
  });

  it('counts to the second', () => {
    const start = new Date(tehran('2026-11-21T08:00').getTime() + 1_999); // ms are dropped
    expect(businessSecondsBetween(cal, start, tehran('2026-11-21T08:01'))).toBe(59);
    expect(at(addBusinessMinutes(cal, tehran('2026-11-21T12:29'), 1.5))).toBe(
      at(new Date(tehran('2026-11-21T13:30').getTime() + 30_000)),
    );
  });

  it('a pause stops the clock, and the due time moves by the paused working time', () => {
    const start = tehran('2026-11-21T08:00');
    const pauses = [{ from: tehran('2026-11-21T09:00'), to: tehran('2026-11-21T11:00') }];
    // 08:00–09:00, then 11:00–12:30 and 13:30–14:00 after the lunch break.
    expect(at(addBusinessMinutes(cal, start, 180, pauses))).toBe(at(tehran('2026-11-21T14:00')));
    expect(businessMinutesBetween(cal, start, tehran('2026-11-21T14:00'), pauses)).toBe(180);
  });
});

describe('business calendar: definitions', () => {
  it('refuses overlapping, reversed or empty calendars with a reason', () => {
    const bad = (week: Partial<BusinessCalendarDefinition['week']>) => () =>
      compileCalendar({
        ...REFERENCE_CALENDAR_DEFINITION,
        week: { ...REFERENCE_CALENDAR_DEFINITION.week, ...week },
      });
    expect(
      bad({
        monday: [
          { start: '08:00', end: '12:00' },
          { start: '11:00', end: '13:00' },
        ],
      }),
    ).toThrow(/overlap/);
    expect(bad({ monday: [{ start: '12:00', end: '08:00' }] })).toThrow(/ends before/);
    expect(bad({ monday: [{ start: '8am', end: '12:00' }] })).toThrow(CalendarDefinitionError);
    const none = Object.fromEntries(
      WEEKDAYS.map((d) => [d, []]),
    ) as unknown as BusinessCalendarDefinition['week'];
    expect(() => compileCalendar({ ...REFERENCE_CALENDAR_DEFINITION, week: none })).toThrow(
      /no working time/,
    );
    expect(() => compileCalendar(REFERENCE_CALENDAR_DEFINITION, ['2026-02-30'])).toThrow(/not a real date/);
  });

  it('the offset rule matches the time-zone database for Asia/Tehran over 1404–1406', () => {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: 'Asia/Tehran',
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    fc.assert(
      fc.property(instant, (t) => {
        const p = Object.fromEntries(
          parts.formatToParts(new Date(t * 1000)).map((x) => [x.type, Number(x.value)]),
        );
        const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) / 1000;
        expect(localSecondOf(cal, t)).toBe(local);
      }),
      { numRuns: 300 },
    );
  });

  it('a change of offset is data: a new rule moves local time from its instant on', () => {
    const shifted = compileCalendar({
      ...REFERENCE_CALENDAR_DEFINITION,
      utcOffsets: [
        ...REFERENCE_CALENDAR_DEFINITION.utcOffsets,
        { from: '2027-03-21T00:00:00Z', offsetMinutes: 270 },
      ],
    });
    // 2027-06-05 (Saturday) 04:30Z is 08:00 at +03:30 but 09:00 at +04:30.
    expect(isBusinessTime(shifted, new Date('2027-06-05T04:00:00Z'))).toBe(true);
    expect(isBusinessTime(cal, new Date('2027-06-05T04:00:00Z'))).toBe(false);
    fc.assert(
      fc.property(instant, shortSeconds, (t, s) => {
        const due = addBusinessSecondsAt(shifted, t, s);
        expect(businessSecondsInRange(shifted, t, due)).toBe(s);
      }),
      { numRuns: 300 },
    );
  });
});

describe('business calendar: properties', () => {
  it('agrees with an independent day-by-day oracle', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 40 * 86400 }), (a, span) => {
        expect(businessSecondsInRange(cal, a, a + span)).toBe(
          oracleBetween(REFERENCE_CALENDAR_DEFINITION, HOLIDAYS, a, a + span),
        );
      }),
      { numRuns: 400 },
    );
  });

  it('adding business time then measuring it gives it back', () => {
    fc.assert(
      fc.property(instant, seconds, (t, s) => {
        expect(businessSecondsInRange(cal, t, addBusinessSecondsAt(cal, t, s))).toBe(s);
      }),
      { numRuns: 1000 },
    );
  });

  it('the result is the earliest such instant and never lands inside a non-working period', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 1, max: 60 * 60 * 7 * 5 * 30 }), (t, s) => {
        const due = addBusinessSecondsAt(cal, t, s);
        expect(isBusinessTime(cal, (due - 1) * 1000)).toBe(true); // the last counted second is working time
        expect(businessSecondsInRange(cal, t, due - 1)).toBe(s - 1);
      }),
      { numRuns: 1000 },
    );
  });

  it('is monotonic in the start and in the amount', () => {
    fc.assert(
      fc.property(instant, instant, seconds, seconds, (t1, t2, s1, s2) => {
        const [a, b] = t1 <= t2 ? [t1, t2] : [t2, t1];
        const [m, n] = s1 <= s2 ? [s1, s2] : [s2, s1];
        expect(addBusinessSecondsAt(cal, a, m)).toBeLessThanOrEqual(addBusinessSecondsAt(cal, b, m));
        expect(addBusinessSecondsAt(cal, a, m)).toBeLessThanOrEqual(addBusinessSecondsAt(cal, a, n));
      }),
      { numRuns: 500 },
    );
  });

  it('measuring is additive over adjacent ranges', () => {
    fc.assert(
      fc.property(instant, instant, instant, (x, y, z) => {
        const [a, b, c] = [x, y, z].sort((p, q) => p - q) as [number, number, number];
        expect(businessSecondsInRange(cal, a, c)).toBe(
          businessSecondsInRange(cal, a, b) + businessSecondsInRange(cal, b, c),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('nextBusinessInstant is working time, not earlier than the input, with nothing working in between', () => {
    fc.assert(
      fc.property(instant, (t) => {
        const next = nextBusinessInstant(cal, t * 1000).getTime() / 1000;
        expect(next).toBeGreaterThanOrEqual(t);
        expect(isBusinessTime(cal, next * 1000)).toBe(true);
        expect(businessSecondsInRange(cal, t, next)).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('holidays and Fridays never count', () => {
    const holidayDays = [...HOLIDAYS].map((d) => Date.parse(`${d}T00:00:00Z`) / 1000 - TEHRAN);
    fc.assert(
      fc.property(fc.constantFrom(...holidayDays), fc.integer({ min: 0, max: 86399 }), (dayStart, offset) => {
        expect(isBusinessTime(cal, (dayStart + offset) * 1000)).toBe(false);
        expect(businessSecondsInRange(cal, dayStart, dayStart + 86400)).toBe(0);
      }),
    );
    const friday = Date.parse('2026-11-27T00:00:00Z') / 1000 - TEHRAN;
    fc.assert(
      fc.property(fc.integer({ min: -200, max: 200 }), (weeks) => {
        expect(
          businessSecondsInRange(cal, friday + weeks * 7 * 86400, friday + weeks * 7 * 86400 + 86400),
        ).toBe(0);
      }),
    );
  });

  const pauseList = fc.array(
    fc
      .tuple(instant, fc.integer({ min: 0, max: 10 * 86400 }))
      .map(([from, len]) => ({ from: from * 1000, to: (from + len) * 1000 })),
    { maxLength: 5 },
  );

  it('paused time never counts', () => {
    fc.assert(
      fc.property(instant, instant, pauseList, (x, y, pauses) => {
        const [a, b] = x <= y ? [x, y] : [y, x];
        const merged = normalisePauses(pauses);
        const inPauses = merged.reduce(
          (sum, p) => sum + businessSecondsInRange(cal, Math.max(a, p.from), Math.min(b, p.to)),
          0,
        );
        expect(businessSecondsInRange(cal, a, b, merged)).toBe(businessSecondsInRange(cal, a, b) - inPauses);
        for (const p of merged) expect(businessSecondsInRange(cal, p.from, p.to, merged)).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('adding with pauses round-trips, never ends inside a pause, and is never earlier than without', () => {
    fc.assert(
      fc.property(instant, seconds, pauseList, (t, s, pauses) => {
        const merged = normalisePauses(pauses);
        const due = addBusinessSecondsAt(cal, t, s, merged);
        expect(businessSecondsInRange(cal, t, due, merged)).toBe(s);
        expect(due).toBeGreaterThanOrEqual(addBusinessSecondsAt(cal, t, s));
        if (s > 0) {
          expect(merged.some((p) => p.from < due && due - 1 >= p.from && due - 1 < p.to)).toBe(false);
          expect(isBusinessTime(cal, (due - 1) * 1000)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('business calendar: around year ends', () => {
  // Instants within ten days of Esfand 29/30 → Farvardin 1 and of 31 December → 1 January.
  const yearEnds = ['2025-03-20', '2025-12-31', '2026-03-20', '2026-12-31', '2027-03-20', '2027-12-31'].map(
    (d) => Date.parse(`${d}T20:30:00Z`) / 1000,
  );
  const nearYearEnd = fc
    .tuple(fc.constantFrom(...yearEnds), fc.integer({ min: -10 * 86400, max: 10 * 86400 }))
    .map(([end, offset]) => end + offset);

  it('agrees with the oracle and round-trips across every year end', () => {
    fc.assert(
      fc.property(nearYearEnd, fc.integer({ min: 0, max: 20 * 86400 }), shortSeconds, (a, span, s) => {
        expect(businessSecondsInRange(cal, a, a + span)).toBe(
          oracleBetween(REFERENCE_CALENDAR_DEFINITION, HOLIDAYS, a, a + span),
        );
        const due = addBusinessSecondsAt(cal, a, s);
        expect(businessSecondsInRange(cal, a, due)).toBe(s);
        if (s > 0) expect(isBusinessTime(cal, (due - 1) * 1000)).toBe(true);
      }),
      { numRuns: 600 },
    );
  });
});

describe('business calendar: speed', () => {
  it('computes 100,000 due times (a generous bound, not a benchmark)', () => {
    const started = Date.now();
    let last = 0;
    for (let i = 0; i < 100_000; i++)
      last = addBusinessSecondsAt(cal, FROM + i * 997, 60 * (30 + (i % 5000)));
    expect(last).toBeGreaterThan(FROM);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
