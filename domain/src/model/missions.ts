/**
 * missions: field visits (place, time window, related cases, assignee), moved through the mission
 * state machine (workflow/mission.ts). `approvedBy`/`approvedAt` are approval fields: only a
 * supervisor or an admin, never the mission's creator, may set them.
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
  reportActivities: string[];
  revisitReason: string | null;
  createdAt: string;
}

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
    reportActivities: { type: 'array', maxItems: 100, items: text(1000, 1) },
    revisitReason: nullableText(1000),
    createdAt: isoDate,
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
  version: 0,
  primaryKey: 'id',
  ...missionJsonSchema,
  indexes: ['createdAt'],
} as const;

export const MISSION_SERVER_OWNED_FIELDS = BASE_SERVER_OWNED;
export const MISSION_APPROVAL_FIELDS = ['approvedBy', 'approvedAt'] as const;
export const missionMigrationStrategies: Record<number, MigrationStrategy> = {};
