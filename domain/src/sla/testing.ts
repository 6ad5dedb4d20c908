/**
 * The reference calendar of the brief (Tehran: Saturday–Wednesday 08:00–12:30 and 13:30–16:00,
 * Thursday 08:00–13:00, Friday off, UTC+03:30) for tests and for a client that has not yet
 * received the server's calendars. The data of record is `fixtures/data/calendars.json`.
 */
import { compileCalendar, type BusinessCalendar, type BusinessCalendarDefinition } from './calendar.ts';
import { generateHolidayTable, holidayDates } from './holidays.ts';

const day = [
  { start: '08:00', end: '12:30' },
  { start: '13:30', end: '16:00' },
];

export const REFERENCE_CALENDAR_DEFINITION: BusinessCalendarDefinition = {
  id: 'cal-tehran',
  name: { fa: 'تقویم کاری منطقه تهران', en: 'Tehran region business calendar' },
  timeZone: 'Asia/Tehran',
  regionIds: ['reg-tehran'],
  utcOffsets: [{ from: '2022-09-21T20:30:00Z', offsetMinutes: 210 }],
  observesHolidays: true,
  week: {
    saturday: day,
    sunday: day,
    monday: day,
    tuesday: day,
    wednesday: day,
    thursday: [{ start: '08:00', end: '13:00' }],
    friday: [],
  },
};

let reference: BusinessCalendar | undefined;
/** The reference calendar with the generated holidays of Jalali 1404–1406. */
export function referenceCalendar(): BusinessCalendar {
  reference ??= compileCalendar(
    REFERENCE_CALENDAR_DEFINITION,
    holidayDates(generateHolidayTable(1404, 1406)),
  );
  return reference;
}
