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

export interface CaseSla {
  firstResponseDueAt: string | null;
  resolutionDueAt: string | null;
  state: 'on_track' | 'warning' | 'breached' | 'paused' | null;
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
}

export const CASE_SERVER_OWNED_FIELDS = ['serverUpdatedAt', 'acknowledgedUpdatedAt', 'sla'] as const;
export type CaseServerOwnedField = (typeof CASE_SERVER_OWNED_FIELDS)[number];
export type CaseClientFields = Omit<CaseDoc, CaseServerOwnedField>;

const nullableString = (maxLength: number) => ({ type: ['string', 'null'], maxLength }) as const;
const isoDate = { type: 'string', format: 'date-time', maxLength: 40 } as const;

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
        firstResponseDueAt: { type: ['string', 'null'], maxLength: 40 },
        resolutionDueAt: { type: ['string', 'null'], maxLength: 40 },
        state: { type: ['string', 'null'], enum: ['on_track', 'warning', 'breached', 'paused', null] },
      },
    },
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
  version: 0,
  primaryKey: 'id',
  ...caseJsonSchema,
  indexes: ['createdAt'],
} as const;

/** Client-writable fields, in schema order (server-owned and RxDB's `_` fields excluded). */
export const CASE_CLIENT_FIELDS = (Object.keys(caseJsonSchema.properties) as (keyof CaseDoc)[]).filter(
  (field) => !(CASE_SERVER_OWNED_FIELDS as readonly string[]).includes(field),
) as (keyof CaseClientFields)[];

/** True when a case is known to the server in exactly its local version. */
export function isCaseSynced(doc: Pick<CaseDoc, 'updatedAt' | 'acknowledgedUpdatedAt'>): boolean {
  return doc.acknowledgedUpdatedAt != null && doc.acknowledgedUpdatedAt === doc.updatedAt;
}
