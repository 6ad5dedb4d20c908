/**
 * missions: field visits (place, time window, related cases, assignee), moved through the mission
 * state machine (workflow/mission.ts). `approvedBy`/`approvedAt` are approval fields: only a
 * supervisor or an admin, never the mission's creator, may set them.
 *
 * Version history (RxDB migration strategies below):
 * - v0: `reportActivities` as plain text lines.
 * - v1: `reportActivities` are service activities on the mission's cases (`{ id, caseId, text,
 *   minutes, at }`): when the report is filed (the assignee completes the mission) the server writes
 *   each one as a timeline entry of its case. Server-owned `orders` (the immutable mission orders,
 *   one per issue, with an order number) and `comments` (from related units, added through
 *   `POST /api/missions/:id/comments`).
 */
import { MISSION_STATUSES, type MissionStatus } from '../workflow/mission.ts';
import {
  BASE_SERVER_OWNED,
  idField,
  isoDate,
  nullableId,
  nullableIsoDate,
  nullableText,
  enumOf,
  text,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';

export interface MissionDoc extends BaseDoc {
  title: string;
  status: MissionStatus;
  createdBy: string;
  assigneeId: string | null;
  place: string | null;
  caseIds: string[];
  windowStart: string | null;
  windowEnd: string | null;
  approvedBy: string | null;
  approvedAt: string | null;
  reportActivities: MissionActivity[];
  revisitReason: string | null;
  createdAt: string;
  /** Server-owned: one immutable order per time the mission was issued, oldest first. */
  orders?: MissionOrder[];
  /** Server-owned: comments from related units (warehouse, finance, the branch), oldest first. */
  comments?: MissionCommentEntry[];
}

/** A service activity of the mission report, done on one of the mission's cases. */
export interface MissionActivity {
  /** Unique within the mission. */
  id: string;
  /** One of the mission's `caseIds` (null only for activities migrated from v0 without a case). */
  caseId: string | null;
  text: string;
  /** Time worked, minutes (counted on the case's timeline). */
  minutes: number | null;
  /** When it was done (device clock). */
  at: string;
}

/** The mission order as issued: a snapshot the server writes once and never changes. */
export interface MissionOrder {
  /** e.g. MO-1405-000042: Jalali year of issue and a server-wide sequence. */
  number: string;
  /** Server clock, ISO 8601. */
  issuedAt: string;
  /** The user whose push issued it. */
  issuedBy: string;
  approvedBy: string | null;
  approvedAt: string | null;
  title: string;
  assigneeId: string | null;
  place: string | null;
  caseIds: string[];
  windowStart: string | null;
  windowEnd: string | null;
}

export interface MissionCommentEntry {
  id: string;
  authorId: string;
  /** The author's unit as the server knows it: team or branch id, or their role. */
  unit: string;
  text: string;
  /** Server clock, ISO 8601. */
  at: string;
}

export const MISSION_LIMITS = { activities: 100, orders: 20, comments: 200, commentMax: 2000 } as const;

const missionActivityField = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: text(64, 1),
    caseId: nullableId,
    text: text(1000, 1),
    minutes: { type: ['integer', 'null'], minimum: 0, maximum: 24 * 60 },
    at: isoDate,
  },
  required: ['id', 'caseId', 'text', 'minutes', 'at'],
} as const;

const missionOrderField = {
  type: 'object',
  additionalProperties: false,
  properties: {
    number: text(32, 1),
    issuedAt: isoDate,
    issuedBy: idField,
    approvedBy: nullableId,
    approvedAt: nullableIsoDate,
    title: text(200, 1),
    assigneeId: nullableId,
    place: nullableText(500),
    caseIds: { type: 'array', maxItems: 50, items: idField },
    windowStart: nullableIsoDate,
    windowEnd: nullableIsoDate,
  },
  required: [
    'number',
    'issuedAt',
    'issuedBy',
    'approvedBy',
    'approvedAt',
    'title',
    'assigneeId',
    'place',
    'caseIds',
    'windowStart',
    'windowEnd',
  ],
} as const;

const missionCommentField = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    authorId: idField,
    unit: text(64, 1),
    text: text(MISSION_LIMITS.commentMax, 1),
    at: isoDate,
  },
  required: ['id', 'authorId', 'unit', 'text', 'at'],
} as const;

export const missionJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    title: text(200, 1),
    status: enumOf(MISSION_STATUSES, 24),
    createdBy: idField,
    assigneeId: nullableId,
    place: nullableText(500),
    caseIds: { type: 'array', maxItems: 50, items: idField },
    windowStart: nullableIsoDate,
    windowEnd: nullableIsoDate,
    approvedBy: nullableId,
    approvedAt: nullableIsoDate,
    reportActivities: { type: 'array', maxItems: MISSION_LIMITS.activities, items: missionActivityField },
    revisitReason: nullableText(1000),
    createdAt: isoDate,
    orders: { type: 'array', maxItems: MISSION_LIMITS.orders, items: missionOrderField },
    comments: { type: 'array', maxItems: MISSION_LIMITS.comments, items: missionCommentField },
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
  },
  required: [
    'id',
    'title',
    'status',
    'createdBy',
    'assigneeId',
    'place',
    'caseIds',
    'windowStart',
    'windowEnd',
    'approvedBy',
    'approvedAt',
    'reportActivities',
    'revisitReason',
    'createdAt',
    'updatedAt',
  ],
} as const;

export const missionRxSchema = {
  title: 'missions',
  version: 1,
  primaryKey: 'id',
  ...missionJsonSchema,
  indexes: ['createdAt'],
} as const;

export const MISSION_SERVER_OWNED_FIELDS = [...BASE_SERVER_OWNED, 'orders', 'comments'] as const;
export const MISSION_APPROVAL_FIELDS = ['approvedBy', 'approvedAt'] as const;

/** RxDB migration strategies, keyed by the version they produce. */
export const missionMigrationStrategies: Record<number, MigrationStrategy> = {
  // v0 report lines become activities on the mission's only case (or on no case when it has several:
  // the technician assigns them before filing the report, which needs a case per activity).
  1: (old) => {
    const caseIds = Array.isArray(old.caseIds) ? (old.caseIds as string[]) : [];
    const lines = Array.isArray(old.reportActivities) ? (old.reportActivities as unknown[]) : [];
    return {
      ...old,
      reportActivities: lines.map((line, index) => ({
        id: `v0-${index + 1}`,
        caseId: caseIds.length === 1 ? caseIds[0] : null,
        text: String(line),
        minutes: null,
        at: old.updatedAt,
      })),
    };
  },
};
