/**
 * case_events: the append-only timeline of a case — comments, status changes, assignments, time
 * logged, SLA events, links to diagnostics and articles. An event is written once and never edited
 * (the server refuses a change to a stored event); a correction is a new event.
 *
 * v1: what the server's workflows record is structured (never prose in `body`): SLA thresholds
 * (`sla`), escalations (`escalation`), routing (`assigneeId`, `teamId`, `supportTier`), possible
 * duplicates (`duplicateOf`) and device clock corrections (`clock`); every event says whether the
 * merchant may see it on the public tracking page (`visibility`), and may carry attachments.
 */
import { CASE_STATUSES } from '../case-state.ts';
import type { CaseStatus } from '../case-state.ts';
import {
  BASE_SERVER_OWNED,
  idField,
  isoDate,
  nullableId,
  nullableText,
  enumOf,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';
import { attachmentRefsField, type AttachmentRef } from './attachments.ts';

export const CASE_EVENT_KINDS = [
  'comment',
  'status_change',
  'assignment',
  'time_logged',
  'sla',
  'diagnostic_link',
  'article_link',
  // v1: written by the server
  'escalation',
  'duplicate_flag',
  'clock_flag',
] as const;
export type CaseEventKind = (typeof CASE_EVENT_KINDS)[number];

export const CASE_EVENT_VISIBILITIES = ['public', 'internal'] as const;
export type CaseEventVisibility = (typeof CASE_EVENT_VISIBILITIES)[number];

/** The three SLA targets, and `ola`: the internal target of the support hop holding the case. */
const SLA_TARGETS = ['firstResponse', 'update', 'resolution', 'ola'] as const;
const SUPPORT_TIERS_V1 = ['L1', 'L2', 'L3', 'product'] as const;
const PRIORITIES_V1 = ['low', 'normal', 'high', 'urgent'] as const;
export const ESCALATION_EVENT_ACTIONS = [
  'notify_assignee',
  'notify_supervisor',
  'raise_priority',
  'move_to_l2',
] as const;
export const CLOCK_FLAG_REASONS = ['skew_corrected', 'future_clamped', 'not_before_clamped'] as const;

/** kind `sla`: a target crossed its warning share or its limit. */
export interface CaseEventSla {
  target: (typeof SLA_TARGETS)[number];
  level: 'warning' | 'breach';
  /** When the threshold was crossed (business time of the case's calendar). */
  crossedAt: string;
  dueAt: string | null;
}

/** kind `escalation`: one action of the escalation policy, applied once. */
export interface CaseEventEscalation {
  action: (typeof ESCALATION_EVENT_ACTIONS)[number];
  target: (typeof SLA_TARGETS)[number];
  level: 'warning' | 'breach';
  fromPriority: (typeof PRIORITIES_V1)[number] | null;
  toPriority: (typeof PRIORITIES_V1)[number] | null;
  fromTier: (typeof SUPPORT_TIERS_V1)[number] | null;
  toTier: (typeof SUPPORT_TIERS_V1)[number] | null;
  /** Who was notified (notify_* actions). */
  notifiedUserId: string | null;
}

/** kind `clock_flag`: the server did not take a device's event time as it came. */
export interface CaseEventClockFlag {
  /** The event (or `case:<id>` for the case's creation) whose time was corrected. */
  subjectId: string;
  reason: (typeof CLOCK_FLAG_REASONS)[number];
  deviceAt: string;
  acceptedAt: string;
  skewMs: number | null;
}

export interface CaseEventDoc extends BaseDoc {
  caseId: string;
  kind: CaseEventKind;
  authorId: string;
  /** When it happened (client clock). */
  at: string;
  body: string | null;
  fromStatus: CaseStatus | null;
  toStatus: CaseStatus | null;
  assigneeId: string | null;
  minutes: number | null;
  diagnosticId: string | null;
  articleId: string | null;
  createdAt: string;
  /** v1: `public` events appear on the merchant's tracking page; absent = see `caseEventVisibility`. */
  visibility?: CaseEventVisibility;
  attachments?: AttachmentRef[];
  /** v1, kind `assignment`: the team and tier now holding the case. */
  teamId?: string | null;
  supportTier?: (typeof SUPPORT_TIERS_V1)[number] | null;
  sla?: CaseEventSla | null;
  escalation?: CaseEventEscalation | null;
  /** v1, kind `duplicate_flag`: the open case this one possibly duplicates. */
  duplicateOf?: string | null;
  clock?: CaseEventClockFlag | null;
}

/**
 * Whether the merchant may see an event on the public tracking page. Status changes are public
 * unless marked otherwise; everything else only when marked public.
 */
export function caseEventVisibility(event: Pick<CaseEventDoc, 'kind' | 'visibility'>): CaseEventVisibility {
  return event.visibility ?? (event.kind === 'status_change' ? 'public' : 'internal');
}

const nullableStatus = { type: ['string', 'null'], enum: [...CASE_STATUSES, null], maxLength: 20 } as const;

export const caseEventJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    caseId: idField,
    kind: enumOf(CASE_EVENT_KINDS, 20),
    authorId: idField,
    at: isoDate,
    body: nullableText(4000),
    fromStatus: nullableStatus,
    toStatus: nullableStatus,
    assigneeId: nullableId,
    minutes: { type: ['integer', 'null'], minimum: 0, maximum: 24 * 60 },
    diagnosticId: nullableId,
    articleId: nullableId,
    createdAt: isoDate,
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
    visibility: enumOf(CASE_EVENT_VISIBILITIES, 10),
    attachments: attachmentRefsField,
    teamId: nullableId,
    supportTier: { type: ['string', 'null'], enum: [...SUPPORT_TIERS_V1, null], maxLength: 10 },
    sla: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        target: enumOf(SLA_TARGETS, 16),
        level: enumOf(['warning', 'breach'] as const, 8),
        crossedAt: isoDate,
        dueAt: { type: ['string', 'null'], maxLength: 40 },
      },
      required: ['target', 'level', 'crossedAt', 'dueAt'],
    },
    escalation: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        action: enumOf(ESCALATION_EVENT_ACTIONS, 20),
        target: enumOf(SLA_TARGETS, 16),
        level: enumOf(['warning', 'breach'] as const, 8),
        fromPriority: { type: ['string', 'null'], enum: [...PRIORITIES_V1, null], maxLength: 10 },
        toPriority: { type: ['string', 'null'], enum: [...PRIORITIES_V1, null], maxLength: 10 },
        fromTier: { type: ['string', 'null'], enum: [...SUPPORT_TIERS_V1, null], maxLength: 10 },
        toTier: { type: ['string', 'null'], enum: [...SUPPORT_TIERS_V1, null], maxLength: 10 },
        notifiedUserId: nullableId,
      },
      required: [
        'action',
        'target',
        'level',
        'fromPriority',
        'toPriority',
        'fromTier',
        'toTier',
        'notifiedUserId',
      ],
    },
    duplicateOf: nullableId,
    clock: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        subjectId: { type: 'string', minLength: 1, maxLength: 80 },
        reason: enumOf(CLOCK_FLAG_REASONS, 20),
        deviceAt: isoDate,
        acceptedAt: isoDate,
        skewMs: { type: ['number', 'null'] },
      },
      required: ['subjectId', 'reason', 'deviceAt', 'acceptedAt', 'skewMs'],
    },
  },
  required: [
    'id',
    'caseId',
    'kind',
    'authorId',
    'at',
    'body',
    'fromStatus',
    'toStatus',
    'assigneeId',
    'minutes',
    'diagnosticId',
    'articleId',
    'createdAt',
    'updatedAt',
  ],
} as const;

export const caseEventRxSchema = {
  title: 'case_events',
  version: 1,
  primaryKey: 'id',
  ...caseEventJsonSchema,
  indexes: [['caseId', 'at']],
} as const;

export const CASE_EVENT_SERVER_OWNED_FIELDS = BASE_SERVER_OWNED;

/** v0 → v1: the explicit visibility of the event's kind, no attachments, the structured fields empty. */
export function migrateCaseEventV0ToV1(old: Record<string, unknown>): Record<string, unknown> {
  return {
    ...old,
    visibility: caseEventVisibility(old as Pick<CaseEventDoc, 'kind' | 'visibility'>),
    attachments: [],
    teamId: null,
    supportTier: null,
    sla: null,
    escalation: null,
    duplicateOf: null,
    clock: null,
  };
}

/** RxDB migration strategies, keyed by the version they produce. */
export const caseEventMigrationStrategies: Record<number, MigrationStrategy> = { 1: migrateCaseEventV0ToV1 };
