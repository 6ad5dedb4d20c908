import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dayNumberOfIsoDate, isoDateOfDayNumber } from './calendar.ts';
import {
  generateHolidayTable,
  holidayDates,
  LUNAR_HOLIDAYS,
  moveHoliday,
  PUBLISHED_LUNAR_DATES,
  SOLAR_HOLIDAYS,
} from './holidays.ts';
import {
  dayOfJalali,
  gregorianOfJalali,
  isJalaliLeapYear,
  jalaliOfGregorian,
  jalaliOfDay,
} from './jalali.ts';

const persian = new Intl.DateTimeFormat('en-u-ca-persian-nu-latn', {
  timeZone: 'UTC',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
});
/** Jalali `YYYY-MM-DD` of a Gregorian date, straight from ICU's Persian calendar. */
function icuJalali(gregorian: string): string {
  const p = Object.fromEntries(
    persian.formatToParts(new Date(`${gregorian}T12:00:00Z`)).map((x) => [x.type, x.value]),
  );
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

const table = generateHolidayTable(1404, 1406);

describe('Jalali ↔ Gregorian', () => {
  it('agrees with Intl en-u-ca-persian on known anchors and year ends', () => {
    expect(gregorianOfJalali('1404-01-01')).toBe('2025-03-21');
    expect(gregorianOfJalali('1405-01-01')).toBe('2026-03-21');
    expect(gregorianOfJalali('1406-01-01')).toBe('2027-03-21');
    expect(gregorianOfJalali('1403-12-30')).toBe('2025-03-20'); // 1403 is a leap year
    expect(gregorianOfJalali('1404-12-29')).toBe('2026-03-20'); // 1404 is not
    expect(() => gregorianOfJalali('1404-12-30')).toThrow(RangeError);
    expect(isJalaliLeapYear(1403)).toBe(true);
    expect(isJalaliLeapYear(1404)).toBe(false);
    expect(jalaliOfGregorian('2026-12-31')).toBe('1405-10-10');
    expect(jalaliOfGregorian('2027-01-01')).toBe('1405-10-11');
    for (const g of ['2025-03-20', '2025-03-21', '2026-03-20', '2026-03-21', '2026-12-31', '2027-01-01'])
      expect(jalaliOfGregorian(g)).toBe(icuJalali(g));
  });

  it('round-trips every day from 1403 to 1407', () => {
    const first = dayOfJalali({ year: 1403, month: 1, day: 1 });
    const last = dayOfJalali({ year: 1407, month: 12, day: 29 });
    fc.assert(
      fc.property(fc.integer({ min: first, max: last }), (day) => {
        expect(dayOfJalali(jalaliOfDay(day))).toBe(day);
        expect(gregorianOfJalali(jalaliOfGregorian(isoDateOfDayNumber(day)))).toBe(isoDateOfDayNumber(day));
      }),
      { numRuns: 300 },
    );
  });
});

describe('holiday table 1404–1406', () => {
  it('has every official holiday each year, solar exact and lunar provisional', () => {
    for (const year of [1404, 1405, 1406]) {
      const inYear = table.filter((h) => h.jalali.startsWith(`${year}-`));
      for (const s of SOLAR_HOLIDAYS) {
        const entry = inYear.find((h) => h.key === s.key);
        expect(entry, `${s.key} ${year}`).toMatchObject({
          kind: 'solar',
          provisional: false,
          jalali: `${year}-${String(s.month).padStart(2, '0')}-${String(s.day).padStart(2, '0')}`,
        });
      }
      // Each lunar holiday falls at least once in a Jalali year (Eid al-Fitr twice in 1405).
      for (const l of LUNAR_HOLIDAYS)
        expect(
          inYear.some((h) => h.key === l.key),
          `${l.key} ${year}`,
        ).toBe(true);
      expect(inYear.filter((h) => h.kind === 'lunar').every((h) => h.provisional && h.hijri)).toBe(true);
    }
    expect(table.filter((h) => h.key === 'eid-fitr' && h.jalali.startsWith('1405-'))).toHaveLength(2);
  });

  it('carries Jalali and Gregorian dates that agree with Intl en-u-ca-persian', () => {
    for (const h of table) expect(icuJalali(h.gregorian), h.id).toBe(h.jalali);
  });

  it('solar holidays land on the right days (Nowruz, 22 Bahman, 29 Esfand)', () => {
    const byId = new Map(table.map((h) => [h.id, h]));
    expect(byId.get('nowruz-1@1405')?.gregorian).toBe('2026-03-21');
    expect(byId.get('revolution-day@1404')?.gregorian).toBe('2026-02-11');
    expect(byId.get('oil-nationalisation@1404')?.gregorian).toBe('2026-03-20');
    expect(byId.get('khordad-15@1406')?.gregorian).toBe('2027-06-05');
  });

  it('published dates differ from the computed Umm al-Qura dates by at most one day', () => {
    const computed = generateHolidayTable(1404, 1406, { published: {} });
    for (const [id, date] of Object.entries(PUBLISHED_LUNAR_DATES)) {
      const c = computed.find((h) => h.id === id);
      expect(c, id).toBeDefined();
      expect(Math.abs(dayNumberOfIsoDate(date) - dayNumberOfIsoDate(c!.gregorian)), id).toBeLessThanOrEqual(
        1,
      );
      expect(table.find((h) => h.id === id)).toMatchObject({
        gregorian: date,
        source: 'published_official_calendar',
        provisional: true,
      });
    }
  });

  it('moves the other holidays of a month whose start a published date reveals', () => {
    // Iran's Safar 1447 had 30 days (Imam Reza on 2 Shahrivar 1404), so Rabi al-Awwal began a
    // day after Umm al-Qura's, and its holidays move with it.
    const byId = new Map(table.map((h) => [h.id, h]));
    expect(byId.get('imam-askari@1447')).toMatchObject({
      jalali: '1404-06-10',
      source: 'aligned_to_published_month',
    });
    expect(byId.get('prophet-birth@1447')).toMatchObject({
      jalali: '1404-06-19',
      source: 'aligned_to_published_month',
    });
    expect(byId.get('imam-sadiq@1447')).toMatchObject({
      gregorian: '2026-04-14',
      source: 'aligned_to_published_month',
    });
    // Months with no published evidence stay as computed.
    expect(byId.get('mabath@1448')?.source).toBe('computed_islamic_umalqura');
  });

  it('lets an admin move a provisional lunar holiday, never a solar one', () => {
    const moved = moveHoliday(table, 'mabath@1448', '2027-01-06');
    expect(moved.ok).toBe(true);
    if (moved.ok)
      expect(moved.holidays.find((h) => h.id === 'mabath@1448')).toMatchObject({
        gregorian: '2027-01-06',
        jalali: '1405-10-16',
        source: 'admin',
      });
    expect(moveHoliday(table, 'nowruz-1@1405', '2026-03-22')).toEqual({
      ok: false,
      reason: 'not_provisional',
    });
    expect(moveHoliday(table, 'nope', '2026-03-22')).toEqual({ ok: false, reason: 'not_found' });
    expect(moveHoliday(table, 'mabath@1448', '2027-02-30')).toEqual({ ok: false, reason: 'bad_date' });
  });

  it('holidayDates gives each date once', () => {
    const dates = holidayDates(table);
    expect(new Set(dates).size).toBe(dates.length);
    expect(dates).toContain('2026-06-04'); // Ghadir and 14 Khordad on one day in 1405
  });
});
