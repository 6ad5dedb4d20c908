import { CASE_STATUSES, type CaseStatus } from './case-state.ts';

export const CASE_CHANNELS = ['walk_in', 'phone', 'field', 'portal', 'sms', 'letter', 'fax'] as const;
export type CaseChannel = (typeof CASE_CHANNELS)[number];

export const CASE_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type CasePriority = (typeof CASE_PRIORITIES)[number];

/** Limits shared by the RxDB schema, the server validator and the create-case form. */
export const CASE_LIMITS = {
  subjectMax: 200,
  descriptionMax: 4000,
  reporterNameMax: 120,
  reporterPhonePattern: '^\\+?[0-9]{7,15}$',
  idMax: 64,
} as const;

export const SUPPORT_TIER_VALUES = ['L1', 'L2', 'L3', 'product'] as const;
export type CaseSupportTier = (typeof SUPPORT_TIER_VALUES)[number];

export const CASE_SLA_STATES = ['on_track', 'warning', 'breached', 'paused'] as const;
export const CASE_SLA_TARGET_STATES = [
  'not_started',
  'on_track',
  'warning',
  'breached',
  'paused',
  'met',
] as const;
export type CaseSlaTargetState = (typeof CASE_SLA_TARGET_STATES)[number];
export const CASE_SLA_PAUSE_REASONS = ['pending_customer', 'pending_vendor'] as const;

/**
 * One SLA target of a case as the server last evaluated it. Only values that change at
 * thresholds are stored (no "elapsed so far"), so a recomputation that crosses nothing writes nothing.
 */
export interface CaseSlaTarget {
  state: CaseSlaTargetState;
  targetMinutes: number;
  /** When it falls due; null while paused (see `remainingMinutes`) or not started. */
  dueAt: string | null;
  warningAt: string | null;
  breachedAt: string | null;
  metAt: string | null;
  /** Business minutes left when the clock paused (negative once breached); null while it runs. */
  remainingMinutes: number | null;
}

/** The server-owned SLA of a case (schema v1); clients show it and compute a provisional one offline. */
export interface CaseSla {
  /** Worst state over the targets. */
  state: (typeof CASE_SLA_STATES)[number] | null;
  firstResponseDueAt: string | null;
  /** v1: when the current silence towards the customer becomes a breach. */
  updateDueAt?: string | null;
  resolutionDueAt: string | null;
  /** v1: the clock is paused (the case waits on the customer or a vendor); the UI shows "paused". */
  paused?: boolean;
  pausedSince?: string | null;
  pausedReason?: (typeof CASE_SLA_PAUSE_REASONS)[number] | null;
  /** v1: per target; null in documents migrated from v0 until the server recomputes them. */
  targets?: { firstResponse: CaseSlaTarget; update: CaseSlaTarget; resolution: CaseSlaTarget } | null;
  /** v1: the business calendar the times are counted in. */
  calendarId?: string | null;
  /** v1: the internal target (OLA) of the support hop holding the case now. */
  ola?: CaseOla | null;
}

/** The current hop's internal target: from when its tier took the case, in business minutes. */
export interface CaseOla {
  tier: CaseSupportTier;
  since: string;
  targetMinutes: number;
  state: CaseSlaTargetState;
  /** Null while paused. */
  dueAt: string | null;
}

/** The case document as stored by RxDB on clients and by the server. */
export interface CaseDoc {
  id: string;
  trackingCode: string;
  templateId: string;
  channel: CaseChannel;
  status: CaseStatus;
  priority: CasePriority;
  merchantId: string | null;
  equipmentId: string | null;
  branchId: string | null;
  subject: string;
  description: string;
  reporterName: string;
  reporterPhone: string;
  createdBy: string;
  assigneeId: string | null;
  /** Client clock, ISO 8601: when the case was created / last edited on a device. */
  createdAt: string;
  updatedAt: string;
  // ---- server-owned: clients never set these; the server refuses a push that changes them ----
  /** Server clock (ms since epoch), strictly increasing per write transaction; the pull checkpoint. */
  serverUpdatedAt?: number | null;
  /** The client `updatedAt` the server accepted last: a case is "synced" when it equals `updatedAt`. */
  acknowledgedUpdatedAt?: string | null;
  sla?: CaseSla | null;
  /** v1: the team holding the case (routing by template, re-routing on escalation). */
  teamId?: string | null;
  /** v1: the support tier holding the case (L1 → L2 → L3 → product team). */
  supportTier?: CaseSupportTier | null;
  /** v1: an open case of the same template and device this one possibly duplicates. */
  possibleDuplicateOf?: string | null;
}

export const CASE_SERVER_OWNED_FIELDS = [
  'serverUpdatedAt',
  'acknowledgedUpdatedAt',
  'sla',
  'teamId',
  'supportTier',
  'possibleDuplicateOf',
] as const;
export type CaseServerOwnedField = (typeof CASE_SERVER_OWNED_FIELDS)[number];
export type CaseClientFields = Omit<CaseDoc, CaseServerOwnedField>;

const nullableString = (maxLength: number) => ({ type: ['string', 'null'], maxLength }) as const;
const isoDate = { type: 'string', format: 'date-time', maxLength: 40 } as const;
const nullableIso = { type: ['string', 'null'], maxLength: 40 } as const;
const slaTargetSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: [...CASE_SLA_TARGET_STATES], maxLength: 12 },
    targetMinutes: { type: 'number', minimum: 0 },
    dueAt: nullableIso,
    warningAt: nullableIso,
    breachedAt: nullableIso,
    metAt: nullableIso,
    remainingMinutes: { type: ['number', 'null'] },
  },
  required: ['state', 'targetMinutes', 'dueAt', 'warningAt', 'breachedAt', 'metAt', 'remainingMinutes'],
} as const;

/**
 * The one JSON Schema of a case: RxDB takes it (with `version`, `primaryKey`, `indexes` added in
 * `caseRxSchema`), and the server validates every pushed document against it.
 */
export const caseJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string', maxLength: CASE_LIMITS.idMax, minLength: 1 },
    trackingCode: { type: 'string', maxLength: 32, minLength: 1 },
    templateId: { type: 'string', maxLength: CASE_LIMITS.idMax, minLength: 1 },
    channel: { type: 'string', enum: [...CASE_CHANNELS], maxLength: 16 },
    status: { type: 'string', enum: [...CASE_STATUSES], maxLength: 20 },
    priority: { type: 'string', enum: [...CASE_PRIORITIES], maxLength: 10 },
    merchantId: nullableString(CASE_LIMITS.idMax),
    equipmentId: nullableString(CASE_LIMITS.idMax),
    branchId: nullableString(CASE_LIMITS.idMax),
    subject: { type: 'string', minLength: 1, maxLength: CASE_LIMITS.subjectMax },
    description: { type: 'string', maxLength: CASE_LIMITS.descriptionMax },
    reporterName: { type: 'string', minLength: 1, maxLength: CASE_LIMITS.reporterNameMax },
    reporterPhone: { type: 'string', pattern: CASE_LIMITS.reporterPhonePattern, maxLength: 16 },
    createdBy: { type: 'string', minLength: 1, maxLength: CASE_LIMITS.idMax },
    assigneeId: nullableString(CASE_LIMITS.idMax),
    createdAt: isoDate,
    updatedAt: isoDate,
    serverUpdatedAt: { type: ['number', 'null'], minimum: 0 },
    acknowledgedUpdatedAt: { type: ['string', 'null'], maxLength: 40 },
    sla: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        state: { type: ['string', 'null'], enum: [...CASE_SLA_STATES, null] },
        firstResponseDueAt: nullableIso,
        updateDueAt: nullableIso,
        resolutionDueAt: nullableIso,
        paused: { type: 'boolean' },
        pausedSince: nullableIso,
        pausedReason: { type: ['string', 'null'], enum: [...CASE_SLA_PAUSE_REASONS, null] },
        targets: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            firstResponse: slaTargetSchema,
            update: slaTargetSchema,
            resolution: slaTargetSchema,
          },
          required: ['firstResponse', 'update', 'resolution'],
        },
        calendarId: nullableString(CASE_LIMITS.idMax),
        ola: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            tier: { type: 'string', enum: [...SUPPORT_TIER_VALUES], maxLength: 10 },
            since: isoDate,
            targetMinutes: { type: 'number', minimum: 0 },
            state: { type: 'string', enum: [...CASE_SLA_TARGET_STATES], maxLength: 12 },
            dueAt: nullableIso,
          },
          required: ['tier', 'since', 'targetMinutes', 'state', 'dueAt'],
        },
      },
    },
    teamId: nullableString(CASE_LIMITS.idMax),
    supportTier: { type: ['string', 'null'], enum: [...SUPPORT_TIER_VALUES, null], maxLength: 10 },
    possibleDuplicateOf: nullableString(CASE_LIMITS.idMax),
  },
  required: [
    'id',
    'trackingCode',
    'templateId',
    'channel',
    'status',
    'priority',
    'merchantId',
    'equipmentId',
    'branchId',
    'subject',
    'description',
    'reporterName',
    'reporterPhone',
    'createdBy',
    'assigneeId',
    'createdAt',
    'updatedAt',
  ],
} as const;

export const caseRxSchema = {
  title: 'cases',
  version: 1,
  primaryKey: 'id',
  ...caseJsonSchema,
  indexes: ['createdAt'],
} as const;

/**
 * v0 → v1 of a stored case: the server-owned routing fields start empty and a v0 `sla` keeps its
 * due times and state (its per-target detail arrives with the server's next recomputation). The
 * server's migration 5 applies the same change to its stored cases (sync-server/src/db/migrations.ts).
 */
export function migrateCaseV0ToV1(old: Record<string, unknown>): Record<string, unknown> {
  const sla = old.sla as { firstResponseDueAt?: unknown; resolutionDueAt?: unknown; state?: unknown } | null;
  return {
    ...old,
    sla:
      sla == null
        ? null
        : {
            state: sla.state ?? null,
            firstResponseDueAt: sla.firstResponseDueAt ?? null,
            updateDueAt: null,
            resolutionDueAt: sla.resolutionDueAt ?? null,
            paused: sla.state === 'paused',
            pausedSince: null,
            pausedReason: null,
            targets: null,
            calendarId: null,
            ola: null,
          },
    teamId: old.teamId ?? null,
    supportTier: old.supportTier ?? null,
    possibleDuplicateOf: old.possibleDuplicateOf ?? null,
  };
}

/** RxDB migration strategies of the cases collection, keyed by the version they produce. */
export const caseMigrationStrategies: Record<
  number,
  (old: Record<string, unknown>) => Record<string, unknown>
> = { 1: migrateCaseV0ToV1 };

/** Client-writable fields, in schema order (server-owned and RxDB's `_` fields excluded). */
export const CASE_CLIENT_FIELDS = (Object.keys(caseJsonSchema.properties) as (keyof CaseDoc)[]).filter(
  (field) => !(CASE_SERVER_OWNED_FIELDS as readonly string[]).includes(field),
) as (keyof CaseClientFields)[];

/** True when a case is known to the server in exactly its local version. */
export function isCaseSynced(doc: Pick<CaseDoc, 'updatedAt' | 'acknowledgedUpdatedAt'>): boolean {
  return doc.acknowledgedUpdatedAt != null && doc.acknowledgedUpdatedAt === doc.updatedAt;
}
