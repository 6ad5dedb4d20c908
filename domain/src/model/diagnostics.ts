/**
 * diagnostics: one run of the device service against a terminal or PinPad, with its steps and the
 * raw frames exchanged (hex, capped), kept with the case it served.
 *
 * Version history (RxDB migration strategies below):
 * - v0: steps and raw frames.
 * - v1: `attachments` — raw diagnostic logs (text/JSON, beyond the capped frames) and photos of the
 *   device as AttachmentRefs (model/attachments.ts); the bytes stay on the device as RxDB
 *   attachments and travel through /api/attachments. Optional (absent = none) so v0 clients keep
 *   syncing; v1 writes `[]`.
 */
import { attachmentRefsField, type AttachmentRef } from './attachments.ts';
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

export const DIAGNOSTIC_OUTCOMES = ['passed', 'failed', 'partial', 'cancelled', 'error'] as const;
export type DiagnosticOutcome = (typeof DIAGNOSTIC_OUTCOMES)[number];
export const DIAGNOSTIC_STEP_STATUSES = [
  'passed',
  'failed',
  'skipped',
  'timed_out',
  'not_supported',
  'cancelled',
] as const;

export interface DiagnosticStep {
  id: string;
  name: string;
  status: (typeof DIAGNOSTIC_STEP_STATUSES)[number];
  message: string | null;
  durationMs: number;
}
export interface RawFrame {
  at: string;
  direction: 'tx' | 'rx';
  hex: string;
}

export interface DiagnosticDoc extends BaseDoc {
  caseId: string | null;
  equipmentId: string | null;
  technicianId: string;
  device: { kind: string; model: string; serial: string | null };
  startedAt: string;
  finishedAt: string | null;
  outcome: DiagnosticOutcome;
  steps: DiagnosticStep[];
  rawFrames: RawFrame[];
  createdAt: string;
  /** Raw logs and photos (absent on documents written by v0 clients: no attachments). */
  attachments?: AttachmentRef[];
}

export const DIAGNOSTIC_LIMITS = { steps: 200, rawFrames: 2000, frameHexMax: 8192 } as const;

export const diagnosticJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    caseId: nullableId,
    equipmentId: nullableId,
    technicianId: idField,
    device: {
      type: 'object',
      additionalProperties: false,
      properties: { kind: text(32, 1), model: text(120), serial: nullableText(64) },
      required: ['kind', 'model', 'serial'],
    },
    startedAt: isoDate,
    finishedAt: nullableIsoDate,
    outcome: enumOf(DIAGNOSTIC_OUTCOMES, 16),
    steps: {
      type: 'array',
      maxItems: DIAGNOSTIC_LIMITS.steps,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          id: text(64, 1),
          name: text(200, 1),
          status: enumOf(DIAGNOSTIC_STEP_STATUSES, 16),
          message: nullableText(2000),
          durationMs: { type: 'integer', minimum: 0 },
        },
        required: ['id', 'name', 'status', 'message', 'durationMs'],
      },
    },
    rawFrames: {
      type: 'array',
      maxItems: DIAGNOSTIC_LIMITS.rawFrames,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          at: isoDate,
          direction: enumOf(['tx', 'rx'] as const, 2),
          hex: { type: 'string', pattern: '^[0-9a-fA-F]*$', maxLength: DIAGNOSTIC_LIMITS.frameHexMax },
        },
        required: ['at', 'direction', 'hex'],
      },
    },
    createdAt: isoDate,
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
    attachments: attachmentRefsField,
  },
  required: [
    'id',
    'caseId',
    'equipmentId',
    'technicianId',
    'device',
    'startedAt',
    'finishedAt',
    'outcome',
    'steps',
    'rawFrames',
    'createdAt',
    'updatedAt',
  ],
} as const;

export const diagnosticRxSchema = {
  title: 'diagnostics',
  version: 1,
  primaryKey: 'id',
  ...diagnosticJsonSchema,
  indexes: ['startedAt'],
} as const;

export const DIAGNOSTIC_SERVER_OWNED_FIELDS = BASE_SERVER_OWNED;
/** RxDB migration strategies, keyed by the version they produce. */
export const diagnosticMigrationStrategies: Record<number, MigrationStrategy> = {
  1: (old) => ({ ...old, attachments: Array.isArray(old.attachments) ? old.attachments : [] }),
};
