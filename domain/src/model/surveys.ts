/**
 * surveys: the satisfaction survey of a case (workflow/survey.ts holds the rules on answers).
 *
 * One survey per case, and its id IS the case's id: the server offers it (status `pending`) when the
 * case reaches `closed`, and a field device that takes the answer on the spot — possibly offline,
 * before the server's offer reached it — writes the same document. Both sides therefore meet on one
 * record through the ordinary replication conflict (never two surveys for one case), and a case
 * closed twice (reopened, closed again) still has one survey.
 *
 * A survey moves once: `pending` → `answered` (score 1–5, optional comment, channel, who took it —
 * null when the merchant answered on the public tracking page). An answered survey never changes.
 * `callbackCaseId` is set by the server when an answer's rules created a call-back task (a case
 * with the `tpl-survey-callback` template, see workflow/survey-callback.ts).
 *
 * v1 (this version): v0 stored only answers (everything required); v1 adds `status`, `offeredAt`
 * and `callbackCaseId`, and the answer fields become null while pending.
 */
import { SURVEY_COMMENT_MAX } from '../workflow/survey.ts';
import {
  BASE_SERVER_OWNED,
  idField,
  isoDate,
  nullableId,
  nullableIsoDate,
  nullableText,
  enumOf,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';

export const SURVEY_CHANNELS = ['field', 'tracking_page', 'phone'] as const;
export type SurveyChannel = (typeof SURVEY_CHANNELS)[number];
export const SURVEY_STATUSES = ['pending', 'answered'] as const;
export type SurveyStatus = (typeof SURVEY_STATUSES)[number];

export interface SurveyDoc extends BaseDoc {
  /** Always equal to `caseId` (one survey per case). */
  id: string;
  caseId: string;
  status: SurveyStatus;
  /** When the survey was offered (the server, when the case closed; or the device that took it first). */
  offeredAt: string;
  score: number | null;
  comment: string | null;
  channel: SurveyChannel | null;
  /** The staff member who took the answer; null when the merchant answered on the tracking page. */
  takenBy: string | null;
  answeredAt: string | null;
  /** Server-owned: the call-back task this answer created, if any. */
  callbackCaseId?: string | null;
}

/** The id of a case's survey: the case's own id (see the module comment). */
export function surveyIdForCase(caseId: string): string {
  return caseId;
}

export const surveyJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    caseId: idField,
    status: enumOf(SURVEY_STATUSES, 10),
    offeredAt: isoDate,
    score: { type: ['integer', 'null'], minimum: 1, maximum: 5 },
    comment: nullableText(SURVEY_COMMENT_MAX),
    channel: { type: ['string', 'null'], enum: [...SURVEY_CHANNELS, null], maxLength: 16 },
    takenBy: nullableId,
    answeredAt: nullableIsoDate,
    callbackCaseId: nullableId,
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
  },
  required: [
    'id',
    'caseId',
    'status',
    'offeredAt',
    'score',
    'comment',
    'channel',
    'takenBy',
    'answeredAt',
    'updatedAt',
  ],
} as const;

export const surveyRxSchema = {
  title: 'surveys',
  version: 1,
  primaryKey: 'id',
  ...surveyJsonSchema,
  indexes: ['caseId'],
} as const;

export const SURVEY_SERVER_OWNED_FIELDS = [...BASE_SERVER_OWNED, 'callbackCaseId'] as const;

/** Fields fixed when the survey is offered; an answer must leave them as they are. */
export const SURVEY_FIXED_FIELDS = ['id', 'caseId', 'offeredAt'] as const;

export const surveyMigrationStrategies: Record<number, MigrationStrategy> = {
  // v0 held answers only: each one becomes an answered survey, offered when it was answered.
  1: (old) => ({
    ...old,
    status: 'answered',
    offeredAt: old.offeredAt ?? old.answeredAt,
    callbackCaseId: old.callbackCaseId ?? null,
  }),
};

export type SurveyShapeProblem =
  'id_not_case' | 'pending_with_answer' | 'answer_incomplete' | 'tracking_page_taken_by_staff';

/**
 * Consistency the flat JSON Schema cannot say (RxDB schemas have no conditionals): the id is the
 * case's, a pending survey carries no answer, an answered one carries a score, a channel and a time.
 * Returns the first problem as an English sentence for the refusal message, or null.
 */
export function surveyShapeProblem(doc: SurveyDoc): { problem: SurveyShapeProblem; message: string } | null {
  if (doc.id !== surveyIdForCase(doc.caseId))
    return { problem: 'id_not_case', message: 'A survey’s id must be the id of its case.' };
  if (doc.status === 'pending') {
    if (
      doc.score !== null ||
      doc.comment !== null ||
      doc.channel !== null ||
      doc.takenBy !== null ||
      doc.answeredAt !== null
    )
      return {
        problem: 'pending_with_answer',
        message: 'A pending survey has no score, comment, channel, taker or answer time.',
      };
    return null;
  }
  if (doc.score === null || doc.channel === null || doc.answeredAt === null)
    return {
      problem: 'answer_incomplete',
      message: 'An answered survey needs a score, a channel and an answer time.',
    };
  if (doc.channel === 'tracking_page' && doc.takenBy !== null)
    return {
      problem: 'tracking_page_taken_by_staff',
      message: 'An answer from the tracking page is the merchant’s own: takenBy must be null.',
    };
  return null;
}
