/**
 * Business calendars: working windows per weekday, holidays, and the UTC offset of the region,
 * all as data. Pure maths, no IO, no clock: callers pass every instant in.
 *
 * Model
 * - Instants are UTC; the calendar maps them to local wall-clock seconds with an offset rule
 *   list (`utcOffsets`). Iran has kept UTC+03:30 all year since it dropped daylight saving in
 *   September 2022, so the shipped calendars carry one rule; if the offset ever changes again,
 *   an admin appends a rule `{ from, offsetMinutes }` to the calendar data — no code change.
 *   Instants before the first rule use the first rule's offset (we hold no pre-2022 DST history).
 * - Each weekday has zero or more working windows `[start, end)` in local time, so a lunch
 *   break simply is the gap between two windows. Holidays are local dates (whole days off).
 * - Everything is counted in whole seconds (instants are truncated to the second); the public
 *   API speaks minutes. Nothing loops per minute or per day: a cumulative business-seconds
 *   function C(localSecond) is evaluated in O(log holidays) from whole weeks, a per-week prefix
 *   and a prefix sum over holidays, and inverted by binary search over days — so one due time
 *   over a span of years costs the same as one over an hour.
 */

export const WEEKDAYS = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A working window in local wall-clock time, `HH:MM` or `HH:MM:SS`; `end` may be `24:00`. */
export interface WorkingWindow {
  start: string;
  end: string;
}

export interface UtcOffsetRule {
  /** The instant (ISO 8601, UTC) from which this offset applies. */
  from: string;
  /** Local time minus UTC, in minutes (Tehran: 210). */
  offsetMinutes: number;
}

export interface BusinessCalendarDefinition {
  id: string;
  name: { fa: string; en: string };
  /** IANA zone, for display and documentation; the maths uses `utcOffsets`. */
  timeZone: string;
  /** Regions that work by this calendar (a merchant's region picks its calendar). */
  regionIds: string[];
  utcOffsets: UtcOffsetRule[];
  week: Record<Weekday, WorkingWindow[]>;
  /** Whether this calendar observes the national holiday table. */
  observesHolidays: boolean;
}

/** An instant: a Date, epoch milliseconds, or an ISO 8601 string with its offset (as stored in documents). */
export type Instant = Date | number | string;

/** A period during which the SLA clock does not run, `[from, to)`. */
export interface Pause {
  from: Instant;
  to: Instant;
}

/** Epoch-second interval `[from, to)`, the internal form of a pause. */
export interface SecondInterval {
  from: number;
  to: number;
}

const DAY = 86_400;

/** A calendar compiled for fast arithmetic. Build with `compileCalendar`; treat as opaque. */
export interface BusinessCalendar {
  readonly id: string;
  readonly definition: BusinessCalendarDefinition;
  /** Offset rules in epoch seconds, ascending. */
  readonly offsets: readonly { fromSec: number; offsetSec: number }[];
  /** Windows per JS weekday (0 = Sunday), in seconds after local midnight. */
  readonly windows: readonly (readonly (readonly [number, number])[])[];
  /** Business seconds per JS weekday. */
  readonly capacity: readonly number[];
  /** Business seconds in one week. */
  readonly weekSeconds: number;
  /** prefix[k]: business seconds in local days q*7 .. q*7+k-1 (day numbers counted from 1970-01-01). */
  readonly weekPrefix: readonly number[];
  /** Holiday local day numbers, ascending, unique. */
  readonly holidayDays: Int32Array;
  /** holidayCapPrefix[i]: business seconds lost to holidayDays[0..i-1]. */
  readonly holidayCapPrefix: Float64Array;
  readonly holidaySet: ReadonlySet<number>;
}

export class CalendarDefinitionError extends Error {
  override name = 'CalendarDefinitionError';
}

function parseClock(value: string, where: string): number {
  const match = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!match) throw new CalendarDefinitionError(`${where}: "${value}" is not a HH:MM time`);
  const [h, m, s] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
  const seconds = h * 3600 + m * 60 + s;
  if (m > 59 || s > 59 || seconds > DAY)
    throw new CalendarDefinitionError(`${where}: "${value}" is not a time of day`);
  return seconds;
}

/** Local day number (days since 1970-01-01) of an ISO calendar date `YYYY-MM-DD`. */
export function dayNumberOfIsoDate(iso: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!match) throw new CalendarDefinitionError(`"${iso}" is not a YYYY-MM-DD date`);
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(y, m - 1, d);
  const check = new Date(ms);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
    throw new CalendarDefinitionError(`"${iso}" is not a real date`);
  }
  return Math.round(ms / (DAY * 1000));
}

export function isoDateOfDayNumber(day: number): string {
  return new Date(day * DAY * 1000).toISOString().slice(0, 10);
}

/** JS weekday (0 = Sunday) of a day number; 1970-01-01 was a Thursday. */
export function weekdayOfDay(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/**
 * Checks and compiles a calendar. `holidays` are local dates `YYYY-MM-DD` (Gregorian), ignored
 * when the calendar does not observe holidays. Throws `CalendarDefinitionError` on bad data.
 */
export function compileCalendar(
  definition: BusinessCalendarDefinition,
  holidays: readonly string[] = [],
): BusinessCalendar {
  const windows = WEEKDAYS.map((name) => {
    const list = definition.week[name];
    if (!Array.isArray(list))
      throw new CalendarDefinitionError(`${definition.id}: ${name} has no window list`);
    const parsed = list.map((w, i) => {
      const start = parseClock(w.start, `${definition.id} ${name}[${i}].start`);
      const end = parseClock(w.end, `${definition.id} ${name}[${i}].end`);
      if (end <= start)
        throw new CalendarDefinitionError(`${definition.id} ${name}[${i}]: the window ends before it starts`);
      return [start, end] as const;
    });
    parsed.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < parsed.length; i++) {
      if (parsed[i]![0] < parsed[i - 1]![1])
        throw new CalendarDefinitionError(`${definition.id} ${name}: windows overlap`);
    }
    return parsed;
  });
  const capacity = windows.map((list) => list.reduce((sum, [s, e]) => sum + (e - s), 0));
  const weekSeconds = capacity.reduce((a, b) => a + b, 0);
  if (weekSeconds === 0)
    throw new CalendarDefinitionError(`${definition.id}: the calendar has no working time at all`);
  // Day numbers q*7 + k have weekday (k + 4) mod 7.
  const weekPrefix = [0];
  for (let k = 0; k < 7; k++) weekPrefix.push(weekPrefix[k]! + capacity[weekdayOfDay(k)]!);

  if (!definition.utcOffsets?.length)
    throw new CalendarDefinitionError(`${definition.id}: at least one UTC offset rule is needed`);
  const offsets = definition.utcOffsets.map((rule) => {
    const ms = Date.parse(rule.from);
    if (!Number.isFinite(ms))
      throw new CalendarDefinitionError(
        `${definition.id}: offset rule start "${rule.from}" is not an instant`,
      );
    if (!Number.isInteger(rule.offsetMinutes) || Math.abs(rule.offsetMinutes) > 14 * 60) {
      throw new CalendarDefinitionError(
        `${definition.id}: offset ${rule.offsetMinutes} is not a whole number of minutes within ±14 h`,
      );
    }
    return { fromSec: Math.floor(ms / 1000), offsetSec: rule.offsetMinutes * 60 };
  });
  for (let i = 1; i < offsets.length; i++) {
    if (offsets[i]!.fromSec <= offsets[i - 1]!.fromSec)
      throw new CalendarDefinitionError(`${definition.id}: offset rules must be in time order`);
  }

  const days = definition.observesHolidays
    ? [...new Set(holidays.map(dayNumberOfIsoDate))].sort((a, b) => a - b)
    : [];
  const holidayDays = Int32Array.from(days);
  const holidayCapPrefix = new Float64Array(days.length + 1);
  for (let i = 0; i < days.length; i++)
    holidayCapPrefix[i + 1] = holidayCapPrefix[i]! + capacity[weekdayOfDay(days[i]!)]!;

  return {
    id: definition.id,
    definition,
    offsets,
    windows,
    capacity,
    weekSeconds,
    weekPrefix,
    holidayDays,
    holidayCapPrefix,
    holidaySet: new Set(days),
  };
}

// ---------------------------------------------------------------------------------------------
// Local-time cumulative business seconds

/** Number of holidays strictly before `day`. */
function holidaysBefore(cal: BusinessCalendar, day: number): number {
  const days = cal.holidayDays;
  let lo = 0;
  let hi = days.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (days[mid]! < day) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Business seconds from local day 0 to the start of local day `day` (may be negative). */
function cumulativeAtDay(cal: BusinessCalendar, day: number): number {
  const q = Math.floor(day / 7);
  const r = day - q * 7;
  return q * cal.weekSeconds + cal.weekPrefix[r]! - cal.holidayCapPrefix[holidaysBefore(cal, day)]!;
}

function secondsIntoDay(windows: readonly (readonly [number, number])[], second: number): number {
  let sum = 0;
  for (const [s, e] of windows) {
    if (second <= s) break;
    sum += Math.min(second, e) - s;
  }
  return sum;
}

/** C(local): business seconds from local second 0 to `local`. Non-decreasing, slope 0 or 1. */
function cumulativeLocal(cal: BusinessCalendar, local: number): number {
  const day = Math.floor(local / DAY);
  const base = cumulativeAtDay(cal, day);
  if (cal.holidaySet.has(day)) return base;
  return base + secondsIntoDay(cal.windows[weekdayOfDay(day)]!, local - day * DAY);
}

/**
 * Smallest local second L with C(L) = target, given a day `fromDay` with C(start of fromDay) < target.
 * That is the end of the business second that brings the count to `target`.
 */
function invertLocal(cal: BusinessCalendar, target: number, fromDay: number): number {
  let lo = fromDay; // invariant: cumulativeAtDay(lo) < target
  let step = 7 * (Math.ceil((target - cumulativeAtDay(cal, lo)) / cal.weekSeconds) + 1);
  let hi = lo + step;
  while (cumulativeAtDay(cal, hi) < target) {
    lo = hi;
    step *= 2;
    hi = lo + step;
  }
  // invariant: C(lo) < target ≤ C(hi); find the last day whose start is below target.
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (cumulativeAtDay(cal, mid) < target) lo = mid;
    else hi = mid;
  }
  let need = target - cumulativeAtDay(cal, lo);
  for (const [s, e] of cal.windows[weekdayOfDay(lo)]!) {
    if (need <= e - s) return lo * DAY + s + need;
    need -= e - s;
  }
  // Unreachable: C(lo + 1) ≥ target means day lo holds the remaining seconds.
  throw new Error('business calendar inversion failed');
}

// ---------------------------------------------------------------------------------------------
// UTC ↔ local, across offset rules

function offsetIndexAt(cal: BusinessCalendar, utc: number): number {
  const rules = cal.offsets;
  let index = 0;
  for (let i = 1; i < rules.length; i++) {
    if (rules[i]!.fromSec <= utc) index = i;
    else break;
  }
  return index;
}

/** Local wall-clock second of a UTC epoch second. */
export function localSecondOf(cal: BusinessCalendar, utcSecond: number): number {
  return utcSecond + cal.offsets[offsetIndexAt(cal, utcSecond)]!.offsetSec;
}

/** Business seconds in [a, b) of UTC epoch seconds, a ≤ b, ignoring pauses. */
function rawBetween(cal: BusinessCalendar, a: number, b: number): number {
  let total = 0;
  let cursor = a;
  let i = offsetIndexAt(cal, a);
  while (cursor < b) {
    const next = cal.offsets[i + 1]?.fromSec ?? Infinity;
    const end = Math.min(b, next);
    const off = cal.offsets[i]!.offsetSec;
    total += cumulativeLocal(cal, end + off) - cumulativeLocal(cal, cursor + off);
    cursor = end;
    i++;
  }
  return total;
}

/** Smallest UTC second t ≥ a with rawBetween(a, t) = seconds (seconds > 0). */
function rawAdd(cal: BusinessCalendar, a: number, seconds: number): number {
  let cursor = a;
  let remaining = seconds;
  let i = offsetIndexAt(cal, a);
  for (;;) {
    const off = cal.offsets[i]!.offsetSec;
    const next = cal.offsets[i + 1]?.fromSec;
    const local = cursor + off;
    const startCount = cumulativeLocal(cal, local);
    const fromDay = Math.floor(local / DAY);
    if (next === undefined) return invertLocal(cal, startCount + remaining, fromDay) - off;
    const capacity = cumulativeLocal(cal, next + off) - startCount;
    if (remaining <= capacity) return invertLocal(cal, startCount + remaining, fromDay) - off;
    remaining -= capacity;
    cursor = next;
    i++;
  }
}

// ---------------------------------------------------------------------------------------------
// Pauses

export function toEpochSecond(instant: Instant): number {
  const ms =
    typeof instant === 'number'
      ? instant
      : typeof instant === 'string'
        ? Date.parse(instant)
        : instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('instant is not a valid time');
  return Math.floor(ms / 1000);
}

/** Pauses as sorted, merged, non-empty epoch-second intervals (the form the *At functions take). */
export function normalisePauses(pauses: readonly Pause[] | undefined): SecondInterval[] {
  if (!pauses?.length) return [];
  return mergeIntervals(pauses.map((p) => ({ from: toEpochSecond(p.from), to: toEpochSecond(p.to) })));
}

/** Sorts and merges epoch-second intervals, dropping empty ones. */
export function mergeIntervals(intervals: readonly SecondInterval[]): SecondInterval[] {
  const list = intervals.filter((p) => p.to > p.from).sort((a, b) => a.from - b.from);
  const merged: SecondInterval[] = [];
  for (const p of list) {
    const last = merged[merged.length - 1];
    if (last && p.from <= last.to) last.to = Math.max(last.to, p.to);
    else merged.push({ from: p.from, to: p.to });
  }
  return merged;
}

/** Business seconds in [a, b) minus those inside pauses; a ≤ b. Pauses must be normalised. */
export function businessSecondsInRange(
  cal: BusinessCalendar,
  a: number,
  b: number,
  pauses: readonly SecondInterval[] = [],
): number {
  if (b <= a) return 0;
  let total = rawBetween(cal, a, b);
  for (const p of pauses) {
    if (p.to <= a) continue;
    if (p.from >= b) break;
    total -= rawBetween(cal, Math.max(a, p.from), Math.min(b, p.to));
  }
  return total;
}

/**
 * The UTC second at which `seconds` of unpaused business time after `a` have elapsed: the end of
 * the last counted second (never inside a non-working period). Pauses must be normalised.
 */
export function addBusinessSecondsAt(
  cal: BusinessCalendar,
  a: number,
  seconds: number,
  pauses: readonly SecondInterval[] = [],
): number {
  if (!Number.isInteger(seconds) || seconds < 0)
    throw new RangeError('business seconds to add must be a whole number ≥ 0');
  if (seconds === 0) return a;
  let cursor = a;
  let remaining = seconds;
  for (const p of pauses) {
    if (p.to <= cursor) continue;
    if (p.from > cursor) {
      const capacity = rawBetween(cal, cursor, p.from);
      if (remaining <= capacity) return rawAdd(cal, cursor, remaining);
      remaining -= capacity;
    }
    cursor = Math.max(cursor, p.to);
  }
  return rawAdd(cal, cursor, remaining);
}

// ---------------------------------------------------------------------------------------------
// Public API (minutes, Dates)

/**
 * The instant at which `minutes` of business time (not counting `pauses`) have passed since
 * `start`. Minutes may be fractional; they are rounded to the second. Zero returns `start`
 * (truncated to the second). For minutes > 0 the result is always the end of a working second.
 */
export function addBusinessMinutes(
  cal: BusinessCalendar,
  start: Instant,
  minutes: number,
  pauses?: readonly Pause[],
): Date {
  if (!Number.isFinite(minutes) || minutes < 0)
    throw new RangeError('minutes to add must be a finite number ≥ 0');
  const at = addBusinessSecondsAt(
    cal,
    toEpochSecond(start),
    Math.round(minutes * 60),
    normalisePauses(pauses),
  );
  return new Date(at * 1000);
}

/** Business seconds between two instants (negative when `to` is before `from`), pauses excluded. */
export function businessSecondsBetween(
  cal: BusinessCalendar,
  from: Instant,
  to: Instant,
  pauses?: readonly Pause[],
): number {
  const a = toEpochSecond(from);
  const b = toEpochSecond(to);
  const normalised = normalisePauses(pauses);
  return a <= b
    ? businessSecondsInRange(cal, a, b, normalised)
    : -businessSecondsInRange(cal, b, a, normalised);
}

/** Business minutes between two instants, exact to the second (so possibly fractional). */
export function businessMinutesBetween(
  cal: BusinessCalendar,
  from: Instant,
  to: Instant,
  pauses?: readonly Pause[],
): number {
  return businessSecondsBetween(cal, from, to, pauses) / 60;
}

/** True when the second containing `at` is working time (inside a window, not a holiday). */
export function isBusinessTime(cal: BusinessCalendar, at: Instant): boolean {
  const local = localSecondOf(cal, toEpochSecond(at));
  const day = Math.floor(local / DAY);
  if (cal.holidaySet.has(day)) return false;
  const second = local - day * DAY;
  return cal.windows[weekdayOfDay(day)]!.some(([s, e]) => second >= s && second < e);
}

/** `at` itself when it is working time, else the start of the next working window. */
export function nextBusinessInstant(cal: BusinessCalendar, at: Instant): Date {
  const t = toEpochSecond(at);
  if (isBusinessTime(cal, t * 1000)) return new Date(t * 1000);
  return new Date((rawAdd(cal, t, 1) - 1) * 1000);
}

/** True when the local date of `at` is a holiday of this calendar. */
export function isHoliday(cal: BusinessCalendar, at: Instant): boolean {
  return cal.holidaySet.has(Math.floor(localSecondOf(cal, toEpochSecond(at)) / DAY));
}

/** The calendar that applies to a region: the first whose `regionIds` names it, else `fallbackId`. */
export function calendarForRegion<T extends { definition: { regionIds: string[] }; id: string }>(
  calendars: readonly T[],
  regionId: string | null | undefined,
  fallbackId?: string,
): T | undefined {
  return (
    (regionId ? calendars.find((c) => c.definition.regionIds.includes(regionId)) : undefined) ??
    (fallbackId ? calendars.find((c) => c.id === fallbackId) : undefined) ??
    calendars[0]
  );
}
