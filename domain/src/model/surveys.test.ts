import { describe, expect, it } from 'vitest';
import { validateCollectionDocument } from '../validate.ts';
import { COLLECTIONS, migrateDocument } from './index.ts';
import { surveyIdForCase, surveyShapeProblem, type SurveyDoc } from './surveys.ts';

const pending: SurveyDoc = {
  id: 'case-1',
  caseId: 'case-1',
  status: 'pending',
  offeredAt: '2026-11-23T08:00:00.000Z',
  score: null,
  comment: null,
  channel: null,
  takenBy: null,
  answeredAt: null,
  callbackCaseId: null,
  updatedAt: '2026-11-23T08:00:00.000Z',
};
const answered: SurveyDoc = {
  ...pending,
  status: 'answered',
  score: 2,
  comment: 'Slow',
  channel: 'field',
  takenBy: 'usr-tech1',
  answeredAt: '2026-11-23T09:00:00.000Z',
};

describe('surveys v1', () => {
  it('one survey per case: its id is the case id', () => {
    expect(surveyIdForCase('abc')).toBe('abc');
    expect(surveyShapeProblem({ ...answered, id: 'srv-other' })?.problem).toBe('id_not_case');
  });

  it('a pending survey carries no answer; an answered one carries score, channel and time', () => {
    expect(validateCollectionDocument('surveys', pending)).toEqual({ ok: true });
    expect(validateCollectionDocument('surveys', answered)).toEqual({ ok: true });
    expect(surveyShapeProblem(pending)).toBeNull();
    expect(surveyShapeProblem(answered)).toBeNull();
    expect(surveyShapeProblem({ ...pending, score: 3 })?.problem).toBe('pending_with_answer');
    expect(surveyShapeProblem({ ...answered, score: null })?.problem).toBe('answer_incomplete');
    expect(surveyShapeProblem({ ...answered, channel: null })?.problem).toBe('answer_incomplete');
    expect(surveyShapeProblem({ ...answered, channel: 'tracking_page' })?.problem).toBe(
      'tracking_page_taken_by_staff',
    );
    expect(surveyShapeProblem({ ...answered, channel: 'tracking_page', takenBy: null })).toBeNull();
    expect(validateCollectionDocument('surveys', { ...answered, score: 6 }).ok).toBe(false);
    expect(validateCollectionDocument('surveys', { ...answered, status: 'maybe' }).ok).toBe(false);
  });

  it('migrates a v0 survey (an answer) to an answered v1 survey, offered when it was answered', () => {
    const v0 = {
      id: 'case-9',
      caseId: 'case-9',
      score: 4,
      comment: null,
      channel: 'field',
      takenBy: 'usr-tech1',
      answeredAt: '2026-10-01T10:00:00.000Z',
      updatedAt: '2026-10-01T10:00:00.000Z',
    };
    const migrated = migrateDocument(COLLECTIONS.surveys.migrationStrategies, v0, 0, 1);
    expect(migrated).toEqual({
      ...v0,
      status: 'answered',
      offeredAt: '2026-10-01T10:00:00.000Z',
      callbackCaseId: null,
    });
    expect(validateCollectionDocument('surveys', migrated)).toEqual({ ok: true });
  });
});
