/**
 * Iran's official public holidays (26 a year as of 1404), as data and as a generator for the
 * holiday table in `fixtures/data/holidays.json`.
 *
 * - Solar holidays fall on fixed Jalali dates: exact, `provisional: false`.
 * - Lunar (Hijri) holidays follow the Islamic months, which Iran starts by moon sighting. No
 *   formula reproduces that. We compute them with the Umm al-Qura calendar (ICU, in every
 *   Node/browser) — in samples from Iran's published 1404 and 1405 calendars it is either right or
 *   one day early — and mark them `provisional: true`, so an admin confirms or moves each one.
 *   Where a date from the officially published calendar (Council for Public Culture) was at hand,
 *   it replaces the computed one, with `source: 'published_official_calendar'`; still provisional
 *   because a sighting can move even a published date. Other holidays of a month whose start is
 *   known that way move with it (`source: 'aligned_to_published_month'`).
 */
import { dayNumberOfIsoDate, isoDateOfDayNumber } from './calendar.ts';
import { dayOfJalali, formatJalali, hijriOfDay, jalaliOfDay, type HijriCalendarName } from './jalali.ts';

export type HolidaySource =
  | 'aligned_to_published_month'
  | 'fixed_solar'
  | 'computed_islamic_umalqura'
  | 'computed_islamic_civil'
  | 'published_official_calendar'
  | 'admin';

export interface HolidayEntry {
  /** Stable id: `<key>@<Jalali year>` for solar, `<key>@<Hijri year>` for lunar holidays. */
  id: string;
  key: string;
  /** Jalali date `YYYY-MM-DD`. */
  jalali: string;
  /** Gregorian date `YYYY-MM-DD` (local, Tehran). */
  gregorian: string;
  /** Hijri (lunar) date `YYYY-MM-DD` the holiday commemorates; lunar holidays only. */
  hijri?: string;
  name: { fa: string; en: string };
  kind: 'solar' | 'lunar';
  /** True when the date depends on moon sighting and may still be moved by an admin. */
  provisional: boolean;
  source: HolidaySource;
}

export interface HolidayTable {
  version: number;
  jalaliYears: number[];
  note: string;
  holidays: HolidayEntry[];
}

interface SolarHoliday {
  key: string;
  month: number;
  day: number;
  name: { fa: string; en: string };
}
interface LunarHoliday {
  key: string;
  month: number;
  /** A day of the month, or `last` for the last day (Imam Reza: Safar 30, or 29 when Safar is short). */
  day: number | 'last';
  name: { fa: string; en: string };
}

export const SOLAR_HOLIDAYS: readonly SolarHoliday[] = [
  { key: 'nowruz-1', month: 1, day: 1, name: { fa: 'آغاز نوروز', en: 'Nowruz (New Year)' } },
  { key: 'nowruz-2', month: 1, day: 2, name: { fa: 'عید نوروز', en: 'Nowruz holiday' } },
  { key: 'nowruz-3', month: 1, day: 3, name: { fa: 'عید نوروز', en: 'Nowruz holiday' } },
  { key: 'nowruz-4', month: 1, day: 4, name: { fa: 'عید نوروز', en: 'Nowruz holiday' } },
  {
    key: 'republic-day',
    month: 1,
    day: 12,
    name: { fa: 'روز جمهوری اسلامی ایران', en: 'Islamic Republic Day' },
  },
  { key: 'nature-day', month: 1, day: 13, name: { fa: 'روز طبیعت', en: 'Nature Day (Sizdah Bedar)' } },
  {
    key: 'khomeini-death',
    month: 3,
    day: 14,
    name: { fa: 'رحلت امام خمینی', en: 'Death anniversary of Imam Khomeini' },
  },
  { key: 'khordad-15', month: 3, day: 15, name: { fa: 'قیام ۱۵ خرداد', en: '15 Khordad uprising' } },
  {
    key: 'revolution-day',
    month: 11,
    day: 22,
    name: { fa: 'پیروزی انقلاب اسلامی', en: 'Victory of the Islamic Revolution' },
  },
  {
    key: 'oil-nationalisation',
    month: 12,
    day: 29,
    name: { fa: 'روز ملی شدن صنعت نفت', en: 'Oil Nationalisation Day' },
  },
];

export const LUNAR_HOLIDAYS: readonly LunarHoliday[] = [
  { key: 'tasua', month: 1, day: 9, name: { fa: 'تاسوعای حسینی', en: 'Tasua' } },
  { key: 'ashura', month: 1, day: 10, name: { fa: 'عاشورای حسینی', en: 'Ashura' } },
  { key: 'arbaeen', month: 2, day: 20, name: { fa: 'اربعین حسینی', en: 'Arbaeen' } },
  {
    key: 'prophet-death',
    month: 2,
    day: 28,
    name: {
      fa: 'رحلت حضرت رسول اکرم و شهادت امام حسن مجتبی',
      en: 'Death of the Prophet and martyrdom of Imam Hasan',
    },
  },
  { key: 'imam-reza', month: 2, day: 'last', name: { fa: 'شهادت امام رضا', en: 'Martyrdom of Imam Reza' } },
  {
    key: 'imam-askari',
    month: 3,
    day: 8,
    name: { fa: 'شهادت امام حسن عسکری', en: 'Martyrdom of Imam Hasan Askari' },
  },
  {
    key: 'prophet-birth',
    month: 3,
    day: 17,
    name: { fa: 'میلاد حضرت رسول اکرم و امام جعفر صادق', en: 'Birth of the Prophet and Imam Sadiq' },
  },
  { key: 'fatima', month: 6, day: 3, name: { fa: 'شهادت حضرت فاطمه زهرا', en: 'Martyrdom of Fatima' } },
  { key: 'imam-ali-birth', month: 7, day: 13, name: { fa: 'ولادت امام علی', en: 'Birth of Imam Ali' } },
  { key: 'mabath', month: 7, day: 27, name: { fa: 'مبعث حضرت رسول اکرم', en: "Mab'ath" } },
  { key: 'mahdi-birth', month: 8, day: 15, name: { fa: 'ولادت حضرت قائم', en: 'Birth of Imam Mahdi' } },
  {
    key: 'imam-ali-martyrdom',
    month: 9,
    day: 21,
    name: { fa: 'شهادت حضرت علی', en: 'Martyrdom of Imam Ali' },
  },
  { key: 'eid-fitr', month: 10, day: 1, name: { fa: 'عید سعید فطر', en: 'Eid al-Fitr' } },
  {
    key: 'eid-fitr-2',
    month: 10,
    day: 2,
    name: { fa: 'تعطیل به مناسبت عید سعید فطر', en: 'Eid al-Fitr holiday' },
  },
  {
    key: 'imam-sadiq',
    month: 10,
    day: 25,
    name: { fa: 'شهادت امام جعفر صادق', en: 'Martyrdom of Imam Sadiq' },
  },
  { key: 'eid-adha', month: 12, day: 10, name: { fa: 'عید سعید قربان', en: 'Eid al-Adha' } },
  { key: 'eid-ghadir', month: 12, day: 18, name: { fa: 'عید سعید غدیر خم', en: 'Eid al-Ghadir' } },
];

/**
 * Dates of lunar holidays as printed in Iran's official calendars for 1404 and 1405 (Council for
 * Public Culture), as reported in the press when they were published; key `<key>@<Hijri year>`.
 * Only dates actually seen are listed; the rest stay computed.
 */
export const PUBLISHED_LUNAR_DATES: Readonly<Record<string, string>> = {
  'imam-ali-martyrdom@1446': '2025-03-22',
  'eid-fitr@1446': '2025-03-31',
  'eid-fitr-2@1446': '2025-04-01',
  'imam-sadiq@1446': '2025-04-24',
  'eid-adha@1446': '2025-06-06',
  'eid-ghadir@1446': '2025-06-14',
  'tasua@1447': '2025-07-05',
  'ashura@1447': '2025-07-06',
  'arbaeen@1447': '2025-08-14',
  'prophet-death@1447': '2025-08-22',
  'imam-reza@1447': '2025-08-24',
  'imam-ali-birth@1447': '2026-01-03',
  'mabath@1447': '2026-01-17',
  'eid-fitr@1447': '2026-03-21',
  'eid-fitr-2@1447': '2026-03-22',
  'eid-adha@1447': '2026-05-27',
  'eid-ghadir@1447': '2026-06-04',
  'tasua@1448': '2026-06-24',
  'ashura@1448': '2026-06-25',
};

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * Builds the holiday table for Jalali years `[fromYear, toYear]`: solar holidays exactly, lunar
 * ones from the given Hijri calendar, overridden by `published` dates where known.
 */
export function generateHolidayTable(
  fromYear: number,
  toYear: number,
  options: { hijriCalendar?: HijriCalendarName; published?: Readonly<Record<string, string>> } = {},
): HolidayEntry[] {
  const hijriCalendar = options.hijriCalendar ?? 'islamic-umalqura';
  const published = options.published ?? PUBLISHED_LUNAR_DATES;
  const entries: HolidayEntry[] = [];
  for (let year = fromYear; year <= toYear; year++) {
    for (const h of SOLAR_HOLIDAYS) {
      const day = dayOfJalali({ year, month: h.month, day: h.day });
      entries.push({
        id: `${h.key}@${year}`,
        key: h.key,
        jalali: formatJalali({ year, month: h.month, day: h.day }),
        gregorian: isoDateOfDayNumber(day),
        name: h.name,
        kind: 'solar',
        provisional: false,
        source: 'fixed_solar',
      });
    }
  }
  // Lunar: walk every day of the range (a few days wider, so a date moved by a published month
  // start can still cross a year boundary), noting each holiday's computed day.
  const first = dayOfJalali({ year: fromYear, month: 1, day: 1 });
  const last = dayOfJalali({ year: toYear + 1, month: 1, day: 1 }) - 1;
  const computed: { id: string; def: LunarHoliday; year: number; hijriDay: number; day: number }[] = [];
  for (let day = first - 5; day <= last + 5; day++) {
    const hijri = hijriOfDay(day, hijriCalendar);
    for (const h of LUNAR_HOLIDAYS) {
      if (hijri.month !== h.month) continue;
      const matches =
        h.day === 'last' ? hijriOfDay(day + 1, hijriCalendar).month !== h.month : hijri.day === h.day;
      if (matches)
        computed.push({ id: `${h.key}@${hijri.year}`, def: h, year: hijri.year, hijriDay: hijri.day, day });
    }
  }
  // A published date tells how far Iran's month start is from the computed one; other holidays
  // of that month move by as much. A published last-of-month date fixes the next month's start.
  const monthShift = new Map<string, number>();
  for (const c of computed) {
    const date = published[c.id];
    if (!date) continue;
    const shift = dayNumberOfIsoDate(date) - c.day;
    if (Math.abs(shift) > 2)
      throw new RangeError(`published date of ${c.id} is ${shift} days from the computed one`);
    const month = c.def.day === 'last' ? c.def.month + 1 : c.def.month;
    const key = month > 12 ? `${c.year + 1}-1` : `${c.year}-${month}`;
    if (!monthShift.has(key) || c.def.day !== 'last') monthShift.set(key, shift);
  }
  for (const c of computed) {
    const publishedDate = published[c.id];
    const month = c.def.day === 'last' ? c.def.month + 1 : c.def.month;
    const shift = monthShift.get(month > 12 ? `${c.year + 1}-1` : `${c.year}-${month}`);
    const finalDay = publishedDate ? dayNumberOfIsoDate(publishedDate) : c.day + (shift ?? 0);
    if (finalDay < first || finalDay > last) continue;
    entries.push({
      id: c.id,
      key: c.def.key,
      jalali: formatJalali(jalaliOfDay(finalDay)),
      gregorian: isoDateOfDayNumber(finalDay),
      hijri: `${pad(c.year, 4)}-${pad(c.def.month)}-${pad(c.def.day === 'last' ? c.hijriDay : c.def.day)}`,
      name: c.def.name,
      kind: 'lunar',
      provisional: true,
      source: publishedDate
        ? 'published_official_calendar'
        : shift !== undefined
          ? 'aligned_to_published_month'
          : hijriCalendar === 'islamic-umalqura'
            ? 'computed_islamic_umalqura'
            : 'computed_islamic_civil',
    });
  }
  return entries.sort((a, b) => a.gregorian.localeCompare(b.gregorian) || a.id.localeCompare(b.id));
}

/** The distinct Gregorian dates of a holiday list, the form `compileCalendar` takes. */
export function holidayDates(entries: readonly Pick<HolidayEntry, 'gregorian'>[]): string[] {
  return [...new Set(entries.map((e) => e.gregorian))].sort();
}

/**
 * Applies an admin's correction of a (provisional) holiday: moves it to another Gregorian date,
 * recomputing the Jalali date. Returns a new list; refuses solar holidays, which are fixed by law.
 */
export function moveHoliday(
  entries: readonly HolidayEntry[],
  id: string,
  gregorian: string,
):
  | { ok: true; holidays: HolidayEntry[] }
  | { ok: false; reason: 'not_found' | 'not_provisional' | 'bad_date' } {
  const index = entries.findIndex((e) => e.id === id);
  if (index < 0) return { ok: false, reason: 'not_found' };
  const entry = entries[index]!;
  if (!entry.provisional) return { ok: false, reason: 'not_provisional' };
  let day: number;
  try {
    day = dayNumberOfIsoDate(gregorian);
  } catch {
    return { ok: false, reason: 'bad_date' };
  }
  const moved: HolidayEntry = {
    ...entry,
    gregorian,
    jalali: formatJalali(jalaliOfDay(day)),
    source: 'admin',
  };
  const holidays = entries.map((e, i) => (i === index ? moved : e));
  return {
    ok: true,
    holidays: holidays.sort((a, b) => a.gregorian.localeCompare(b.gregorian) || a.id.localeCompare(b.id)),
  };
}
