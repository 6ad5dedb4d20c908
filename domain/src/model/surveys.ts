/** surveys: the satisfaction survey taken when a case closes (workflow/survey.ts holds the rules). */
import { SURVEY_COMMENT_MAX } from '../workflow/survey.ts';
import {
  BASE_SERVER_OWNED,
  idField,
  isoDate,
  nullableText,
  enumOf,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';

export const SURVEY_CHANNELS = ['field', 'tracking_page', 'phone'] as const;

export interface SurveyDoc extends BaseDoc {
  caseId: string;
  score: number;
  comment: string | null;
  channel: (typeof SURVEY_CHANNELS)[number];
  takenBy: string;
  answeredAt: string;
}

export const surveyJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    caseId: idField,
    score: { type: 'integer', minimum: 1, maximum: 5 },
    comment: nullableText(SURVEY_COMMENT_MAX),
    channel: enumOf(SURVEY_CHANNELS, 16),
    takenBy: idField,
    answeredAt: isoDate,
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
  },
  required: ['id', 'caseId', 'score', 'comment', 'channel', 'takenBy', 'answeredAt', 'updatedAt'],
} as const;

export const surveyRxSchema = {
  title: 'surveys',
  version: 0,
  primaryKey: 'id',
  ...surveyJsonSchema,
  indexes: ['caseId'],
} as const;

export const SURVEY_SERVER_OWNED_FIELDS = BASE_SERVER_OWNED;
export const surveyMigrationStrategies: Record<number, MigrationStrategy> = {};
