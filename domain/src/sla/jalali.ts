/**
 * Jalali (Solar Hijri) and Hijri (lunar) dates of local calendar days, through the ICU calendars
 * built into Node and browsers (`Intl.DateTimeFormat` with `ca-persian`, `ca-islamic-umalqura`).
 * Day numbers count days since 1970-01-01 (see calendar.ts); a day number is a local date, so the
 * formatter runs in UTC on purpose: no time zone may shift it.
 */
import { dayNumberOfIsoDate, isoDateOfDayNumber } from './calendar.ts';

export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

export type HijriCalendarName = 'islamic-umalqura' | 'islamic-civil';

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(calendar: string): Intl.DateTimeFormat {
  let f = formatters.get(calendar);
  if (!f) {
    f = new Intl.DateTimeFormat(`en-US-u-ca-${calendar}-nu-latn`, {
      timeZone: 'UTC',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
    });
    formatters.set(calendar, f);
  }
  return f;
}

function partsOf(calendar: string, day: number): CalendarDate {
  const parts = formatter(calendar).formatToParts(new Date(day * 86_400_000));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  // ICU labels the year of these calendars `year` (or `relatedYear` in some builds).
  const year = get('year') || get('relatedYear');
  return { year, month: get('month'), day: get('day') };
}

/** The Jalali date of a local day number. */
export function jalaliOfDay(day: number): CalendarDate {
  return partsOf('persian', day);
}

/** The Hijri (lunar) date of a local day number, by a computed (not sighted) calendar. */
export function hijriOfDay(day: number, calendar: HijriCalendarName = 'islamic-umalqura'): CalendarDate {
  return partsOf(calendar, day);
}

const JALALI_MONTH_START = [0, 31, 62, 93, 124, 155, 186, 216, 246, 276, 306, 336];

function compare(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

/**
 * The local day number of a Jalali date. Farvardin 1 falls on March 20–22, so an estimate from
 * March 21 is at most a day or two off; it is then corrected against ICU. Throws on a date that
 * does not exist (e.g. Esfand 30 of a common year).
 */
export function dayOfJalali(date: CalendarDate): number {
  const { year, month, day } = date;
  if (!Number.isInteger(year) || month < 1 || month > 12 || day < 1 || day > (month <= 6 ? 31 : 30)) {
    throw new RangeError(`${year}/${month}/${day} is not a Jalali date`);
  }
  let guess =
    dayNumberOfIsoDate(`${String(year + 621).padStart(4, '0')}-03-21`) +
    JALALI_MONTH_START[month - 1]! +
    day -
    1;
  for (let i = 0; i < 4; i++) {
    const c = compare(jalaliOfDay(guess), date);
    if (c === 0) return guess;
    guess -= Math.sign(c);
  }
  throw new RangeError(`${year}/${month}/${day} is not a Jalali date`);
}

/** Days in a Jalali month (Esfand has 30 days in a leap year). */
export function jalaliMonthLength(year: number, month: number): number {
  if (month <= 6) return 31;
  if (month <= 11) return 30;
  const esfand1 = dayOfJalali({ year, month: 12, day: 1 });
  const nextYear = dayOfJalali({ year: year + 1, month: 1, day: 1 });
  return nextYear - esfand1;
}

export function isJalaliLeapYear(year: number): boolean {
  return jalaliMonthLength(year, 12) === 30;
}

export function formatJalali(date: CalendarDate): string {
  return `${date.year}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;
}

export function parseJalali(text: string): CalendarDate {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is not a YYYY-MM-DD Jalali date`);
  return { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
}

/** Gregorian ISO date of a Jalali `YYYY-MM-DD`. */
export function gregorianOfJalali(jalali: string): string {
  return isoDateOfDayNumber(dayOfJalali(parseJalali(jalali)));
}

/** Jalali `YYYY-MM-DD` of a Gregorian ISO date. */
export function jalaliOfGregorian(iso: string): string {
  return formatJalali(jalaliOfDay(dayNumberOfIsoDate(iso)));
}
