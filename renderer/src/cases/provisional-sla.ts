/**
 * The provisional SLA of a case the server has not evaluated yet (created offline, not yet synced,
 * or synced but not yet reached by the engine): computed on the device by the server's own code
 * (domain/src/sla/case-input.ts → createSlaRecomputer → toCaseSla) over the locally replicated
 * calendars and holidays and the engine's targets handed out with the reference data. The server's
 * `sla` is authoritative: as soon as the case carries one, that is what is shown.
 *
 * What the device cannot know, and so does not count: the server's correction of a skewed device
 * clock, and timeline events it has not got (the list passes only the case document: its creation
 * and, when it moved on, its current status since its last edit — the server's own fallback when
 * no status event came).
 */
import { caseEventVisibility, type CaseEventDoc } from '@emdad/domain/model/case-events';
import type { CaseDoc, CaseSla, ReferenceData, CaseStatus } from '@emdad/domain';
import {
  calendarsFromReference,
  slaCaseRecord,
  type ReferenceKindData,
  type SlaMerchant,
} from '@emdad/domain/sla/case-input';
import { toCaseSla } from '@emdad/domain/sla/evaluate';
import { createSlaRecomputer, type SlaRecomputer } from '@emdad/domain/sla/recompute';
import { slaSummary, type SlaBadgeState } from './case-list-view.ts';

export interface ProvisionalSlaContext {
  recompute: SlaRecomputer;
  merchants: ReadonlyMap<string, SlaMerchant>;
  branchRegions: ReadonlyMap<string, string>;
}

/**
 * Everything the provisional SLA needs, built once per change of the reference data; null when
 * something is missing (no calendars replicated yet, or a server that did not send its targets).
 */
export function provisionalSlaContext(
  reference: Pick<ReferenceData, 'merchants' | 'branches' | 'sla'> | null,
  referenceDocs: readonly ReferenceKindData[],
): ProvisionalSlaContext | null {
  if (!reference?.sla) return null;
  const calendars = calendarsFromReference(referenceDocs);
  if (calendars.length === 0) return null;
  return {
    recompute: createSlaRecomputer({
      calendars,
      table: reference.sla.targets,
      defaultCalendarId: reference.sla.defaultCalendarId,
    }),
    merchants: new Map(reference.merchants.map((m) => [m.id, { regionId: m.regionId, tier: m.tier }])),
    branchRegions: new Map(reference.branches.map((b) => [b.id, b.regionId])),
  };
}

const SYSTEM = 'system';

/**
 * The case's own timeline as the device knows it: `new` at creation, each status change and
 * customer-facing (public, not system) event at its time; the current status since the last edit
 * when no event recorded the change.
 */
export function localTimeline(
  doc: Pick<CaseDoc, 'createdAt' | 'updatedAt' | 'status'>,
  events: readonly CaseEventDoc[] = [],
): { createdAt: number; statuses: { at: number; status: CaseStatus }[]; customerUpdates: number[] } {
  const createdAt = Date.parse(doc.createdAt);
  const statuses: { at: number; status: CaseStatus }[] = [{ at: createdAt, status: 'new' }];
  const customerUpdates: number[] = [];
  for (const e of [...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))) {
    const at = Math.max(createdAt, Date.parse(e.at));
    if (!Number.isFinite(at)) continue;
    if (e.authorId !== SYSTEM && caseEventVisibility(e) === 'public') customerUpdates.push(at);
    if (e.kind === 'status_change' && e.toStatus) statuses.push({ at, status: e.toStatus });
  }
  const last = statuses[statuses.length - 1]!;
  if (last.status !== doc.status)
    statuses.push({ at: Math.max(last.at, Date.parse(doc.updatedAt)), status: doc.status });
  return { createdAt, statuses, customerUpdates };
}

/** The provisional `sla` of a case, or null when it cannot be computed (no targets, no calendar). */
export function provisionalCaseSla(
  doc: Pick<
    CaseDoc,
    | 'id'
    | 'templateId'
    | 'priority'
    | 'supportTier'
    | 'merchantId'
    | 'branchId'
    | 'createdAt'
    | 'updatedAt'
    | 'status'
  >,
  context: ProvisionalSlaContext,
  now: number,
  events: readonly CaseEventDoc[] = [],
): CaseSla | null {
  const timeline = localTimeline(doc, events);
  if (!Number.isFinite(timeline.createdAt)) return null;
  const record = slaCaseRecord({
    doc,
    merchant: doc.merchantId ? context.merchants.get(doc.merchantId) : undefined,
    branchRegionId: doc.branchId ? (context.branchRegions.get(doc.branchId) ?? null) : null,
    ...timeline,
  });
  const result = context.recompute(record, now);
  return result.ok ? toCaseSla(result.evaluation, result.calendarId) : null;
}

export interface CaseSlaView {
  state: SlaBadgeState;
  /** The next due time of a running target (none while paused or stopped). */
  dueAt: string | null;
  firstResponseDueAt: string | null;
  resolutionDueAt: string | null;
  /** True when computed on this device; false when it is the server's. */
  provisional: boolean;
}

/** What the UI shows of a case's SLA: the server's when it has one, else the provisional one. */
export function caseSlaView(
  doc: Parameters<typeof provisionalCaseSla>[0] & Pick<CaseDoc, 'sla'>,
  context: ProvisionalSlaContext | null,
  now: number,
  events: readonly CaseEventDoc[] = [],
): CaseSlaView {
  const server = doc.sla?.state ? doc.sla : null;
  const sla = server ?? (context ? provisionalCaseSla(doc, context, now, events) : null);
  const summary = slaSummary(sla);
  const paused = summary.state === 'paused';
  return {
    ...summary,
    firstResponseDueAt: paused ? null : (sla?.firstResponseDueAt ?? null),
    resolutionDueAt: paused ? null : (sla?.resolutionDueAt ?? null),
    provisional: !server && summary.state !== 'none',
  };
}
