/**
 * SLA evaluation of one case: from its timeline, its targets and `now`, the due times, elapsed
 * business time, a state per target and the escalation actions that are due — all as data; the
 * server applies the actions (and remembers which it applied), the client shows provisional
 * values computed by this same code offline.
 *
 * Clock rules
 * - First response: from creation to the first customer-facing update (resolving the case with an
 *   answer also counts as responding). Paused while the case waits on the customer or a vendor.
 * - Update: the longest silence towards the customer, measured between customer-facing updates
 *   from the first response on; paused and stopped periods do not count. A breach stays a breach.
 * - Resolution: from creation to resolution. Paused while pending_customer / pending_vendor, and
 *   stopped while resolved or closed (a reopened case resumes where it stopped).
 * - A target is `breached` once elapsed business time exceeds it (meeting it at exactly 100% is on
 *   time), `warning` from `warningShare` of it, `met` when its clock stopped in time.
 */
import type { CaseStatus } from '../case-state.ts';
import type { CasePriority, CaseSla, CaseSlaTarget } from '../case.ts';
import {
  addBusinessSecondsAt,
  businessSecondsInRange,
  mergeIntervals,
  toEpochSecond,
  type BusinessCalendar,
  type Instant,
  type SecondInterval,
} from './calendar.ts';

export const SLA_TARGET_KINDS = ['firstResponse', 'update', 'resolution'] as const;
export type SlaTargetKind = (typeof SLA_TARGET_KINDS)[number];
export const MERCHANT_TIERS = ['standard', 'gold', 'platinum'] as const;
export type MerchantTier = (typeof MERCHANT_TIERS)[number];
export const SUPPORT_TIERS = ['L1', 'L2', 'L3', 'product'] as const;
export type SupportTier = (typeof SUPPORT_TIERS)[number];

export const PAUSED_STATUSES: readonly CaseStatus[] = ['pending_customer', 'pending_vendor'];
export const STOPPED_STATUSES: readonly CaseStatus[] = ['resolved', 'closed'];

export interface SlaTargetMinutes {
  firstResponseMinutes: number;
  updateMinutes: number;
  resolutionMinutes: number;
}

export interface SlaTargetRow extends SlaTargetMinutes {
  templateId: string;
  templateCode?: string;
  priority: CasePriority;
  merchantTier: MerchantTier;
}

export const ESCALATION_ACTION_TYPES = [
  'notify_assignee',
  'notify_supervisor',
  'raise_priority',
  'move_to_l2',
] as const;
export type EscalationActionType = (typeof ESCALATION_ACTION_TYPES)[number];

export interface EscalationRule {
  target: SlaTargetKind;
  level: 'warning' | 'breach';
  actions: EscalationActionType[];
}

export interface SlaTargetTable {
  version: number;
  /** Share of a target (0 < share < 1) at which it turns `warning`. */
  warningShare: number;
  /** Internal target (OLA) of each hop, in business minutes. */
  olaMinutes: Record<SupportTier, number>;
  /**
   * What a hop past its OLA does besides notifying its supervisor: `next_tier` hands the case to the
   * next hop of the ladder (L1 → L2 → L3 → product team); `notify` (also when absent) only notifies.
   */
  olaBreach?: OlaBreachPolicy;
  escalation: EscalationRule[];
  targets: SlaTargetRow[];
}

export const DEFAULT_ESCALATION_POLICY: readonly EscalationRule[] = [
  { target: 'firstResponse', level: 'warning', actions: ['notify_assignee'] },
  { target: 'firstResponse', level: 'breach', actions: ['notify_supervisor', 'raise_priority'] },
  { target: 'update', level: 'warning', actions: ['notify_assignee'] },
  { target: 'update', level: 'breach', actions: ['notify_supervisor'] },
  { target: 'resolution', level: 'warning', actions: ['notify_assignee', 'notify_supervisor'] },
  { target: 'resolution', level: 'breach', actions: ['notify_supervisor', 'raise_priority', 'move_to_l2'] },
];

/** The targets of a (template, priority, merchant tier); undefined when the table has none. */
export function findTargets(
  table: Pick<SlaTargetTable, 'targets'>,
  templateId: string,
  priority: CasePriority,
  merchantTier: MerchantTier,
): SlaTargetMinutes | undefined {
  const row = table.targets.find(
    (t) => t.templateId === templateId && t.priority === priority && t.merchantTier === merchantTier,
  );
  return row
    ? {
        firstResponseMinutes: row.firstResponseMinutes,
        updateMinutes: row.updateMinutes,
        resolutionMinutes: row.resolutionMinutes,
      }
    : undefined;
}

/** Pre-indexed lookup for many cases (the server recomputes thousands at once). */
export function indexTargets(
  table: Pick<SlaTargetTable, 'targets'>,
): (templateId: string, priority: CasePriority, tier: MerchantTier) => SlaTargetMinutes | undefined {
  const map = new Map<string, SlaTargetMinutes>();
  for (const row of table.targets) {
    map.set(`${row.templateId}|${row.priority}|${row.merchantTier}`, {
      firstResponseMinutes: row.firstResponseMinutes,
      updateMinutes: row.updateMinutes,
      resolutionMinutes: row.resolutionMinutes,
    });
  }
  return (templateId, priority, tier) => map.get(`${templateId}|${priority}|${tier}`);
}

export type SlaEvent =
  | { type: 'status'; at: Instant; status: CaseStatus }
  /** A customer-facing update: a reply, a call back, a public note on the tracking page. */
  | { type: 'customer_update'; at: Instant };

export interface SlaCaseInput {
  createdAt: Instant;
  /** Status at creation; `new` unless the case was created directly in another status. */
  initialStatus?: CaseStatus;
  events: readonly SlaEvent[];
  priority: CasePriority;
  /** The support tier currently holding the case (decides whether `move_to_l2` applies). */
  tier: SupportTier;
}

export type SlaTargetState = 'not_started' | 'on_track' | 'warning' | 'breached' | 'paused' | 'met';

export interface SlaTargetEvaluation {
  kind: SlaTargetKind;
  targetMinutes: number;
  /** Business minutes counted so far (to the second); for `update`, the current silence. */
  elapsedMinutes: number;
  /** Target minus elapsed; negative once breached. */
  remainingMinutes: number;
  state: SlaTargetState;
  /** When the target falls due (if paused now: when it would, were the clock to resume now). */
  dueAt: string | null;
  warningAt: string | null;
  /** When it was (or, for `update`, first was) breached; null if never. */
  breachedAt: string | null;
  /** When the clock stopped in time (responded / resolved / case closed without a breach). */
  metAt: string | null;
  /** `update` only: the longest silence so far, in business minutes. */
  longestMinutes?: number;
}

export interface EscalationAction {
  /** Stable across recomputations: the server applies each key once. */
  key: string;
  type: EscalationActionType;
  target: SlaTargetKind;
  level: 'warning' | 'breach';
  /** The instant the threshold was crossed. */
  dueSince: string;
  priorityTo?: CasePriority;
  tierTo?: SupportTier;
}

export interface SlaEvaluation {
  evaluatedAt: string;
  /** The clock is paused now (the case waits on the customer or a vendor): the UI must show it. */
  paused: boolean;
  pausedSince: string | null;
  pausedReason: 'pending_customer' | 'pending_vendor' | null;
  /** The case is resolved or closed: every clock is stopped. */
  stopped: boolean;
  firstResponse: SlaTargetEvaluation;
  update: SlaTargetEvaluation;
  resolution: SlaTargetEvaluation;
  /** Worst state over the three targets, in the case document's vocabulary. */
  overall: NonNullable<CaseSla['state']>;
  /** Escalation actions whose threshold has been crossed, minus those already applied. */
  actions: EscalationAction[];
}

export interface EvaluateOptions {
  calendar: BusinessCalendar;
  targets: SlaTargetMinutes;
  now: Instant;
  warningShare?: number;
  escalation?: readonly EscalationRule[];
  /** Keys of escalation actions already applied (the server stores them on the case). */
  applied?: Iterable<string>;
}

const iso = (second: number) => new Date(second * 1000).toISOString();
const PRIORITY_ORDER: readonly CasePriority[] = ['low', 'normal', 'high', 'urgent'];

export function raisedPriority(priority: CasePriority): CasePriority | null {
  const index = PRIORITY_ORDER.indexOf(priority);
  return index >= 0 && index < PRIORITY_ORDER.length - 1 ? PRIORITY_ORDER[index + 1]! : null;
}

/** The next hop of the escalation ladder L1 → L2 → L3 → product team. */
export function nextSupportTier(tier: SupportTier): SupportTier | null {
  const index = SUPPORT_TIERS.indexOf(tier);
  return index >= 0 && index < SUPPORT_TIERS.length - 1 ? SUPPORT_TIERS[index + 1]! : null;
}

export const OLA_BREACH_POLICIES = ['notify', 'next_tier'] as const;
export type OlaBreachPolicy = (typeof OLA_BREACH_POLICIES)[number];

/**
 * The tier a hop past its OLA hands the case to under the policy: the next one of the ladder with
 * `next_tier`; null when the policy only notifies or the hop is the last one (the product team).
 */
export function tierAfterOlaBreach(
  policy: OlaBreachPolicy | undefined,
  tier: SupportTier,
): SupportTier | null {
  return policy === 'next_tier' ? nextSupportTier(tier) : null;
}

interface ClockResult {
  elapsed: number;
  dueAt: number;
  warningAt: number;
  breached: boolean;
  warning: boolean;
}

/**
 * One clock: running from `start` until `stop` (or `now`), not counting `excluded` intervals.
 * All in epoch seconds; `excluded` merged and sorted.
 */
function runClock(
  cal: BusinessCalendar,
  start: number,
  end: number,
  targetSec: number,
  warningSec: number,
  excluded: readonly SecondInterval[],
): ClockResult {
  const elapsed = businessSecondsInRange(cal, start, Math.max(start, end), excluded);
  return {
    elapsed,
    dueAt: addBusinessSecondsAt(cal, start, targetSec, excluded),
    warningAt: addBusinessSecondsAt(cal, start, warningSec, excluded),
    breached: elapsed > targetSec,
    warning: elapsed >= warningSec,
  };
}

/**
 * A generic clock for internal targets (OLA of a hop, a call-back task): business time from
 * `start` to `stop` (or `now`) without `pauses`, against `targetMinutes`.
 */
export function evaluateClock(options: {
  calendar: BusinessCalendar;
  start: Instant;
  stop?: Instant | null;
  now: Instant;
  targetMinutes: number;
  warningShare?: number;
  pauses?: readonly { from: Instant; to: Instant | null }[];
}): Omit<SlaTargetEvaluation, 'kind'> {
  const now = toEpochSecond(options.now);
  const start = toEpochSecond(options.start);
  const stop = options.stop == null ? null : Math.min(now, toEpochSecond(options.stop));
  const pauses = mergeIntervals(
    (options.pauses ?? []).map((p) => ({
      from: toEpochSecond(p.from),
      to: p.to == null ? now : Math.min(now, toEpochSecond(p.to)),
    })),
  );
  // Paused now: a pause that has begun and not ended (open, or ending in the future).
  const pausedNow =
    stop === null &&
    (options.pauses ?? []).some(
      (p) => toEpochSecond(p.from) <= now && (p.to == null || toEpochSecond(p.to) > now),
    );
  return targetEvaluation(
    options.calendar,
    start,
    stop ?? now,
    stop !== null,
    pausedNow,
    targetSeconds(options.targetMinutes),
    options.warningShare ?? 0.75,
    pauses,
  );
}

function targetSeconds(minutes: number): number {
  if (!Number.isFinite(minutes) || minutes <= 0)
    throw new RangeError('an SLA target must be a positive number of minutes');
  return Math.round(minutes * 60);
}

function targetEvaluation(
  cal: BusinessCalendar,
  start: number,
  end: number,
  stopped: boolean,
  pausedNow: boolean,
  targetSec: number,
  share: number,
  excluded: readonly SecondInterval[],
): Omit<SlaTargetEvaluation, 'kind'> {
  const warningSec = Math.max(1, Math.min(targetSec, Math.round(targetSec * share)));
  // Once the clock has stopped, only what happened before the stop shapes its due time.
  const history = stopped
    ? excluded.filter((p) => p.from < end).map((p) => ({ from: p.from, to: Math.min(p.to, end) }))
    : excluded;
  const clock = runClock(cal, start, end, targetSec, warningSec, history);
  const state: SlaTargetState = clock.breached
    ? 'breached'
    : stopped
      ? 'met'
      : pausedNow
        ? 'paused'
        : clock.warning
          ? 'warning'
          : 'on_track';
  return {
    targetMinutes: targetSec / 60,
    elapsedMinutes: clock.elapsed / 60,
    remainingMinutes: (targetSec - clock.elapsed) / 60,
    state,
    dueAt: iso(clock.dueAt),
    warningAt: iso(clock.warningAt),
    breachedAt: clock.breached ? iso(clock.dueAt) : null,
    metAt: stopped && !clock.breached ? iso(end) : null,
  };
}

interface TimelineFacts {
  status: CaseStatus;
  statusSince: number;
  pauses: SecondInterval[];
  stops: SecondInterval[];
  firstResponseAt: number | null;
  /** Instants the customer heard from us (updates and resolutions), ascending. */
  contacts: number[];
}

function readTimeline(input: SlaCaseInput, created: number, now: number): TimelineFacts {
  const events = input.events
    .map((e, i) => ({ e, i, at: Math.max(created, toEpochSecond(e.at)) }))
    .filter((x) => x.at <= now)
    .sort((a, b) => a.at - b.at || a.i - b.i);
  let status: CaseStatus = input.initialStatus ?? 'new';
  let since = created;
  const pauses: SecondInterval[] = [];
  const stops: SecondInterval[] = [];
  const contacts: number[] = [];
  const close = (until: number) => {
    if (PAUSED_STATUSES.includes(status)) pauses.push({ from: since, to: until });
    if (STOPPED_STATUSES.includes(status)) stops.push({ from: since, to: until });
  };
  for (const { e, at } of events) {
    if (e.type === 'customer_update') {
      contacts.push(at);
      continue;
    }
    if (e.status === status) continue;
    close(at);
    if (STOPPED_STATUSES.includes(e.status) && !STOPPED_STATUSES.includes(status)) contacts.push(at);
    status = e.status;
    since = at;
  }
  close(now);
  contacts.sort((a, b) => a - b);
  return { status, statusSince: since, pauses, stops, firstResponseAt: contacts[0] ?? null, contacts };
}

/** Evaluates the three SLA targets of a case at `now`. */
export function evaluateCaseSla(input: SlaCaseInput, options: EvaluateOptions): SlaEvaluation {
  const cal = options.calendar;
  const share = options.warningShare ?? 0.75;
  if (!(share > 0 && share < 1)) throw new RangeError('warningShare must be between 0 and 1');
  const now = toEpochSecond(options.now);
  const created = Math.min(now, toEpochSecond(input.createdAt));
  const facts = readTimeline(input, created, now);
  const pausedNow = PAUSED_STATUSES.includes(facts.status);
  const stoppedNow = STOPPED_STATUSES.includes(facts.status);
  const pauses = mergeIntervals(facts.pauses);
  const pausesAndStops = mergeIntervals([...facts.pauses, ...facts.stops]);

  // First response
  const frTarget = targetSeconds(options.targets.firstResponseMinutes);
  const firstResponse: SlaTargetEvaluation = {
    kind: 'firstResponse',
    ...targetEvaluation(
      cal,
      created,
      facts.firstResponseAt ?? now,
      facts.firstResponseAt !== null,
      pausedNow,
      frTarget,
      share,
      pauses,
    ),
  };

  // Resolution
  const resTarget = targetSeconds(options.targets.resolutionMinutes);
  const resolution: SlaTargetEvaluation = {
    kind: 'resolution',
    ...targetEvaluation(
      cal,
      created,
      stoppedNow ? facts.statusSince : now,
      stoppedNow,
      pausedNow,
      resTarget,
      share,
      pausesAndStops,
    ),
  };

  // Update: silences between contacts, from the first response on.
  const updTarget = targetSeconds(options.targets.updateMinutes);
  const updWarning = Math.max(1, Math.min(updTarget, Math.round(updTarget * share)));
  let update: SlaTargetEvaluation;
  let lastContact: number | null = null;
  /** The latest silence that went past the target: each such silence escalates once. */
  let lastBreach: { from: number; at: number } | null = null;
  if (facts.firstResponseAt === null) {
    update = {
      kind: 'update',
      targetMinutes: updTarget / 60,
      elapsedMinutes: 0,
      remainingMinutes: updTarget / 60,
      state: 'not_started',
      dueAt: null,
      warningAt: null,
      breachedAt: null,
      metAt: null,
      longestMinutes: 0,
    };
  } else {
    let longest = 0;
    let firstBreach: number | null = null;
    const gaps: [number, number][] = [];
    for (let i = 1; i < facts.contacts.length; i++) gaps.push([facts.contacts[i - 1]!, facts.contacts[i]!]);
    lastContact = facts.contacts[facts.contacts.length - 1]!;
    if (!stoppedNow) gaps.push([lastContact, now]);
    for (const [from, to] of gaps) {
      const silence = businessSecondsInRange(cal, from, to, pausesAndStops);
      longest = Math.max(longest, silence);
      if (silence > updTarget) {
        lastBreach = { from, at: addBusinessSecondsAt(cal, from, updTarget, pausesAndStops) };
        firstBreach ??= lastBreach.at;
      }
    }
    const current = stoppedNow ? 0 : businessSecondsInRange(cal, lastContact, now, pausesAndStops);
    const state: SlaTargetState =
      firstBreach !== null
        ? 'breached'
        : stoppedNow
          ? 'met'
          : pausedNow
            ? 'paused'
            : current >= updWarning
              ? 'warning'
              : 'on_track';
    update = {
      kind: 'update',
      targetMinutes: updTarget / 60,
      elapsedMinutes: current / 60,
      remainingMinutes: (updTarget - current) / 60,
      state,
      dueAt: stoppedNow ? null : iso(addBusinessSecondsAt(cal, lastContact, updTarget, pausesAndStops)),
      warningAt: stoppedNow ? null : iso(addBusinessSecondsAt(cal, lastContact, updWarning, pausesAndStops)),
      breachedAt: firstBreach === null ? null : iso(firstBreach),
      metAt: stoppedNow && firstBreach === null ? iso(facts.statusSince) : null,
      longestMinutes: longest / 60,
    };
  }

  const targets = { firstResponse, update, resolution };
  const states = [firstResponse.state, update.state, resolution.state];
  const overall: SlaEvaluation['overall'] = states.includes('breached')
    ? 'breached'
    : pausedNow
      ? 'paused'
      : states.includes('warning')
        ? 'warning'
        : 'on_track';

  const applied = new Set(options.applied ?? []);
  const actions: EscalationAction[] = [];
  let priority = input.priority;
  let tier = input.tier;
  for (const rule of options.escalation ?? DEFAULT_ESCALATION_POLICY) {
    const t = targets[rule.target];
    // Silences recur: warn about each new silence (keyed by its start), and escalate each one
    // that goes past the target (the latest such silence).
    const silence = rule.target === 'update';
    const crossedAt =
      rule.level === 'breach'
        ? silence && lastBreach
          ? iso(lastBreach.at)
          : t.breachedAt
        : warningCrossing(t, iso(now));
    if (!crossedAt) continue;
    const episode = !silence
      ? ''
      : rule.level === 'breach'
        ? `:${lastBreach?.from ?? ''}`
        : lastContact !== null
          ? `:${lastContact}`
          : '';
    for (const type of rule.actions) {
      const key = `${rule.target}:${rule.level}:${type}${episode}`;
      if (applied.has(key)) continue;
      const action: EscalationAction = {
        key,
        type,
        target: rule.target,
        level: rule.level,
        dueSince: crossedAt,
      };
      if (type === 'raise_priority') {
        const to = raisedPriority(priority);
        if (!to) continue;
        action.priorityTo = to;
        priority = to;
      }
      if (type === 'move_to_l2') {
        if (tier !== 'L1') continue;
        action.tierTo = 'L2';
        tier = 'L2';
      }
      actions.push(action);
    }
  }
  actions.sort((a, b) => a.dueSince.localeCompare(b.dueSince) || a.key.localeCompare(b.key));

  const pausedReason = pausedNow ? (facts.status as 'pending_customer' | 'pending_vendor') : null;
  return {
    evaluatedAt: iso(now),
    paused: pausedNow,
    pausedSince: pausedNow ? iso(facts.statusSince) : null,
    pausedReason,
    stopped: stoppedNow,
    firstResponse,
    update,
    resolution,
    overall,
    actions,
  };
}

/**
 * When a target crossed its warning share, if it has and still matters: it is in warning,
 * breached, or paused after crossing it. A target met in time needs no warning after the fact.
 */
function warningCrossing(t: SlaTargetEvaluation, nowIso: string): string | null {
  if (t.state !== 'warning' && t.state !== 'breached' && t.state !== 'paused') return null;
  return t.warningAt !== null && t.warningAt <= nowIso ? t.warningAt : null;
}

function caseSlaTarget(t: SlaTargetEvaluation, paused: boolean): CaseSlaTarget {
  // Paused: the due time moves with every tick while the clock stands still, so the document
  // keeps what is left instead (constant while paused); otherwise only threshold instants.
  const pausedNow = paused && t.state !== 'met' && t.state !== 'not_started';
  return {
    state: t.state,
    targetMinutes: t.targetMinutes,
    dueAt: pausedNow ? null : t.dueAt,
    warningAt: pausedNow ? null : t.warningAt,
    breachedAt: t.breachedAt,
    metAt: t.metAt,
    remainingMinutes: pausedNow ? Math.round(t.remainingMinutes * 100) / 100 : null,
  };
}

/**
 * The server-owned `sla` field of a case document, from an evaluation: only values that change at
 * thresholds or on timeline events, so recomputing a case where nothing was crossed changes nothing.
 */
export function toCaseSla(evaluation: SlaEvaluation, calendarId: string | null = null): CaseSla {
  const paused = evaluation.paused;
  const targets = {
    firstResponse: caseSlaTarget(evaluation.firstResponse, paused),
    update: caseSlaTarget(evaluation.update, paused),
    resolution: caseSlaTarget(evaluation.resolution, paused),
  };
  return {
    state: evaluation.overall,
    firstResponseDueAt: targets.firstResponse.dueAt,
    updateDueAt: targets.update.dueAt,
    resolutionDueAt: targets.resolution.dueAt,
    paused,
    pausedSince: evaluation.pausedSince,
    pausedReason: evaluation.pausedReason,
    targets,
    calendarId,
  };
}

/**
 * When a notification may reach a recipient: at once during their working hours, otherwise at
 * the start of their next working window (their own calendar).
 */
export { nextBusinessInstant as notificationDeliveryTime } from './calendar.ts';
