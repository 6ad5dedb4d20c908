/**
 * How a case and the reference data become the SLA engine's input — one function for the server's
 * engine (authoritative) and the client's provisional due time (computed offline, shown until the
 * server's `sla` arrives), so both count the same way:
 * - calendars: the replicated `reference` documents of kind `calendar`, compiled with every
 *   `holiday` document's Gregorian date (a provisional lunar holiday an admin moved counts moved);
 * - region: the merchant's, else the case's branch's (picks the calendar);
 * - targets: by (template, priority, merchant tier), the merchant's tier defaulting to `standard`;
 * - timeline: `new` at creation, then status changes and customer-facing updates in time order.
 */
import { compileCalendar, type BusinessCalendar, type BusinessCalendarDefinition } from './calendar.ts';
import { MERCHANT_TIERS, type MerchantTier, type SlaEvent, type SupportTier } from './evaluate.ts';
import { holidayDates } from './holidays.ts';
import type { SlaCaseRecord } from './recompute.ts';
import type { CaseStatus } from '../case-state.ts';
import type { CaseDoc } from '../case.ts';

/** A `reference` document as far as the calendars need it. */
export interface ReferenceKindData {
  kind: string;
  data: Record<string, unknown>;
}

/**
 * The business calendars defined by `reference` documents, compiled with their holidays; empty
 * when none is defined (the server then falls back to the shipped fixtures; a client shows no
 * provisional time until the calendars have replicated).
 */
export function calendarsFromReference(rows: readonly ReferenceKindData[]): BusinessCalendar[] {
  const definitions = rows
    .filter((r) => r.kind === 'calendar')
    .map((r) => r.data as unknown as BusinessCalendarDefinition);
  if (definitions.length === 0) return [];
  const holidays = rows
    .filter((r) => r.kind === 'holiday' && typeof r.data.gregorian === 'string')
    .map((r) => ({ gregorian: r.data.gregorian as string }));
  const dates = holidayDates(holidays);
  return definitions.map((d) => compileCalendar(d, dates));
}

export function asMerchantTier(value: unknown): MerchantTier {
  return (MERCHANT_TIERS as readonly string[]).includes(value as string)
    ? (value as MerchantTier)
    : 'standard';
}

/** What the SLA needs of a case's merchant. */
export interface SlaMerchant {
  regionId: string | null;
  tier: MerchantTier;
}

/** The region whose calendar counts a case: its merchant's, else its branch's. */
export function caseRegionId(
  merchant: SlaMerchant | undefined,
  branchRegionId: string | null,
): string | null {
  return merchant?.regionId ?? branchRegionId;
}

export interface SlaCaseRecordInput {
  doc: Pick<CaseDoc, 'id' | 'templateId' | 'priority' | 'supportTier'>;
  merchant: SlaMerchant | undefined;
  /** The region of the case's branch, if it has one. */
  branchRegionId: string | null;
  /** Epoch ms the clocks count from (the server's: the accepted device time). */
  createdAt: number;
  /** Status changes, including `new` at creation; any order. */
  statuses: readonly { at: number; status: CaseStatus }[];
  /** Epoch ms of customer-facing updates. */
  customerUpdates: readonly number[];
  /** Escalation action keys already applied (server only). */
  applied?: Iterable<string>;
}

/** The engine's input for one case (see the module comment for the rules). */
export function slaCaseRecord(input: SlaCaseRecordInput): SlaCaseRecord {
  const { doc, merchant } = input;
  const statuses = [...input.statuses].sort((a, b) => a.at - b.at);
  const events: SlaEvent[] = [
    ...statuses.map((s) => ({ type: 'status' as const, at: s.at, status: s.status })),
    ...input.customerUpdates.map((at) => ({ type: 'customer_update' as const, at })),
  ];
  return {
    id: doc.id,
    templateId: doc.templateId,
    priority: doc.priority,
    merchantTier: merchant?.tier ?? 'standard',
    regionId: caseRegionId(merchant, input.branchRegionId),
    createdAt: input.createdAt,
    initialStatus: 'new',
    events,
    tier: (doc.supportTier ?? 'L1') as SupportTier,
    applied: [...(input.applied ?? [])],
  };
}
