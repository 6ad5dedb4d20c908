/**
 * What the server's SLA timer (and a benchmark) runs over every open case: pick the case's
 * calendar by the merchant's region, its targets by (template, priority, merchant tier), and
 * evaluate. Built once from the data (calendars compiled, targets indexed), then called per case.
 */
import { calendarForRegion, toEpochSecond, type BusinessCalendar, type Instant } from './calendar.ts';
import {
  evaluateCaseSla,
  evaluateClock,
  indexTargets,
  type MerchantTier,
  type SlaCaseInput,
  type SlaEvaluation,
  type SlaTargetEvaluation,
  type SlaTargetTable,
  type SupportTier,
} from './evaluate.ts';
import type { CasePriority } from '../case.ts';

export interface SlaCaseRecord extends SlaCaseInput {
  id: string;
  templateId: string;
  priority: CasePriority;
  merchantTier: MerchantTier;
  /** The merchant's region; picks the business calendar. */
  regionId: string | null;
  /** Escalation action keys already applied. */
  applied?: readonly string[];
}

export type SlaRecomputeResult =
  | { ok: true; caseId: string; calendarId: string; evaluation: SlaEvaluation }
  | { ok: false; caseId: string; reason: 'no_targets' | 'no_calendar' };

export interface SlaRecomputer {
  (record: SlaCaseRecord, now: Instant): SlaRecomputeResult;
}

export function createSlaRecomputer(options: {
  calendars: readonly BusinessCalendar[];
  table: SlaTargetTable;
  defaultCalendarId?: string;
}): SlaRecomputer {
  const targetsOf = indexTargets(options.table);
  const byRegion = new Map<string, BusinessCalendar | undefined>();
  const calendarOf = (regionId: string | null) => {
    const key = regionId ?? '';
    if (!byRegion.has(key))
      byRegion.set(key, calendarForRegion(options.calendars, regionId, options.defaultCalendarId));
    return byRegion.get(key);
  };
  return (record, now) => {
    const calendar = calendarOf(record.regionId);
    if (!calendar) return { ok: false, caseId: record.id, reason: 'no_calendar' };
    const targets = targetsOf(record.templateId, record.priority, record.merchantTier);
    if (!targets) return { ok: false, caseId: record.id, reason: 'no_targets' };
    const evaluation = evaluateCaseSla(record, {
      calendar,
      targets,
      now,
      warningShare: options.table.warningShare,
      escalation: options.table.escalation,
      applied: record.applied ?? [],
    });
    return { ok: true, caseId: record.id, calendarId: calendar.id, evaluation };
  };
}

export interface SupportHop {
  tier: SupportTier;
  /** When the hop received the case. */
  from: Instant;
  /** When it handed the case on or resolved it; null while it still holds it. */
  to: Instant | null;
}

/**
 * The internal target (OLA) of each hop of the escalation ladder: each hop's own clock, from
 * taking the case to passing it on, against `olaMinutes[tier]`, with the case's pauses.
 */
export function evaluateHops(options: {
  calendar: BusinessCalendar;
  hops: readonly SupportHop[];
  olaMinutes: Record<SupportTier, number>;
  now: Instant;
  warningShare?: number;
  pauses?: readonly { from: Instant; to: Instant | null }[];
}): (SupportHop & { evaluation: Omit<SlaTargetEvaluation, 'kind'> })[] {
  return [...options.hops]
    .sort((a, b) => toEpochSecond(a.from) - toEpochSecond(b.from))
    .map((hop) => ({
      ...hop,
      evaluation: evaluateClock({
        calendar: options.calendar,
        start: hop.from,
        stop: hop.to,
        now: options.now,
        targetMinutes: options.olaMinutes[hop.tier],
        warningShare: options.warningShare ?? 0.75,
        pauses: options.pauses ?? [],
      }),
    }));
}

/**
 * Deterministic synthetic open cases for benchmarks and load tests (a seeded generator: the
 * same seed gives the same cases): created over the `spanDays` before `now`, a few with a
 * customer update, some waiting on the customer.
 */
export function syntheticOpenCases(options: {
  count: number;
  now: Instant;
  seed?: number;
  spanDays?: number;
  templateIds: readonly string[];
  regionIds: readonly (string | null)[];
}): SlaCaseRecord[] {
  let state = (options.seed ?? 1) >>> 0 || 1;
  const random = () => {
    // xorshift32: tiny, fast, reproducible.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const nowMs = toEpochSecond(options.now) * 1000;
  const span = (options.spanDays ?? 20) * 86_400_000;
  const priorities: CasePriority[] = ['low', 'normal', 'high', 'urgent'];
  const tiers: MerchantTier[] = ['standard', 'gold', 'platinum'];
  const cases: SlaCaseRecord[] = [];
  for (let i = 0; i < options.count; i++) {
    const createdAt = nowMs - Math.floor(random() * span);
    const events: SlaCaseInput['events'][number][] = [];
    if (random() < 0.7)
      events.push({ type: 'customer_update', at: createdAt + Math.floor(random() * 4 * 3_600_000) });
    if (random() < 0.2) {
      const pausedAt = createdAt + Math.floor(random() * (nowMs - createdAt));
      events.push({ type: 'status', at: pausedAt, status: 'pending_customer' });
      if (random() < 0.5)
        events.push({
          type: 'status',
          at: pausedAt + Math.floor(random() * (nowMs - pausedAt)),
          status: 'in_progress',
        });
    }
    cases.push({
      id: `synthetic-${i}`,
      templateId: pick(options.templateIds),
      priority: pick(priorities),
      merchantTier: pick(tiers),
      regionId: pick(options.regionIds),
      createdAt,
      events,
      tier: 'L1',
    });
  }
  return cases;
}
