/**
 * Dwell time: how long a case spent in each status, with each team and with each person, from
 * its timeline, to the second. Wall-clock seconds always; business seconds too when a calendar is
 * given (what an OLA report compares against). Instants are truncated to the second before
 * subtracting, so the parts always add up to the whole.
 */
import {
  businessSecondsInRange,
  toEpochSecond,
  type BusinessCalendar,
  type Instant,
} from '../sla/calendar.ts';

export interface DwellEvent {
  at: Instant;
  /** Any of these that are present change from this instant on; `null` clears (e.g. unassigned). */
  status?: string;
  teamId?: string | null;
  assigneeId?: string | null;
}

export interface DwellFigure {
  seconds: number;
  businessSeconds?: number;
}

export interface DwellReport {
  totalSeconds: number;
  byStatus: Record<string, DwellFigure>;
  byTeam: Record<string, DwellFigure>;
  byPerson: Record<string, DwellFigure>;
  /** Time with no team / no person, which dashboards show as "unassigned". */
  unassignedTeamSeconds: number;
  unassignedPersonSeconds: number;
}

/**
 * `start` holds the values at creation; `events` change them; time is counted up to `until`
 * (now, or when the case closed). Events outside [start.at, until] are clamped into it.
 */
export function dwellTimes(options: {
  start: DwellEvent & { status: string };
  events: readonly DwellEvent[];
  until: Instant;
  calendar?: BusinessCalendar;
}): DwellReport {
  const begin = toEpochSecond(options.start.at);
  const end = Math.max(begin, toEpochSecond(options.until));
  const report: DwellReport = {
    totalSeconds: end - begin,
    byStatus: {},
    byTeam: {},
    byPerson: {},
    unassignedTeamSeconds: 0,
    unassignedPersonSeconds: 0,
  };
  const add = (bucket: Record<string, DwellFigure>, key: string, from: number, to: number) => {
    const figure = (bucket[key] ??= options.calendar ? { seconds: 0, businessSeconds: 0 } : { seconds: 0 });
    figure.seconds += to - from;
    if (options.calendar) figure.businessSeconds! += businessSecondsInRange(options.calendar, from, to);
  };
  let status = options.start.status;
  let team = options.start.teamId ?? null;
  let person = options.start.assigneeId ?? null;
  let since = begin;
  const flush = (to: number) => {
    if (to <= since) return;
    add(report.byStatus, status, since, to);
    if (team) add(report.byTeam, team, since, to);
    else report.unassignedTeamSeconds += to - since;
    if (person) add(report.byPerson, person, since, to);
    else report.unassignedPersonSeconds += to - since;
  };
  const events = options.events
    .map((e, i) => ({ e, i, at: Math.min(end, Math.max(begin, toEpochSecond(e.at))) }))
    .sort((a, b) => a.at - b.at || a.i - b.i);
  for (const { e, at } of events) {
    flush(at);
    since = Math.max(since, at);
    if (e.status !== undefined) status = e.status;
    if (e.teamId !== undefined) team = e.teamId;
    if (e.assigneeId !== undefined) person = e.assigneeId;
  }
  flush(end);
  return report;
}
