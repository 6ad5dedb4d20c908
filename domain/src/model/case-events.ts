/**
 * case_events: the append-only timeline of a case — comments, status changes, assignments, time
 * logged, SLA events, links to diagnostics and articles. An event is written once and never edited
 * (the server refuses a change to a stored event); a correction is a new event.
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

export const CASE_EVENT_KINDS = [
  'comment',
  'status_change',
  'assignment',
  'time_logged',
  'sla',
  'diagnostic_link',
  'article_link',
] as const;
export type CaseEventKind = (typeof CASE_EVENT_KINDS)[number];

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
  version: 0,
  primaryKey: 'id',
  ...caseEventJsonSchema,
  indexes: [['caseId', 'at']],
} as const;

export const CASE_EVENT_SERVER_OWNED_FIELDS = BASE_SERVER_OWNED;
export const caseEventMigrationStrategies: Record<number, MigrationStrategy> = {};
