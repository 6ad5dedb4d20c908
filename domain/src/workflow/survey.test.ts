import { describe, expect, it } from 'vitest';
import { acceptSurveyAnswer, SURVEY_COMMENT_MAX, type SurveyAnswer } from './survey.ts';

const answer = (score: number, comment: string | null = null): SurveyAnswer => ({
  caseId: 'case-1',
  score,
  comment,
  channel: 'tracking_page',
  answeredAt: '2026-11-22T06:00:00Z',
});
const closed = { status: 'closed', alreadyAnswered: false };

describe('satisfaction survey rules', () => {
  it('a score of 2 or less creates a call-back task for the team manager, with its own target', () => {
    for (const score of [1, 2]) {
      expect(acceptSurveyAnswer(answer(score, '  Nobody called back  '), closed)).toEqual({
        ok: true,
        followUps: [
          {
            type: 'callback_task',
            caseId: 'case-1',
            assignTo: 'team_manager',
            targetMinutes: 240,
            startsAt: '2026-11-22T06:00:00Z',
            reason: { score, comment: 'Nobody called back' },
          },
        ],
      });
    }
    for (const score of [3, 4, 5])
      expect(acceptSurveyAnswer(answer(score), closed)).toEqual({ ok: true, followUps: [] });
  });

  it('refuses bad scores, long comments, open cases and second answers with a sentence', () => {
    for (const score of [0, 6, 2.5, Number.NaN])
      expect(acceptSurveyAnswer(answer(score), closed)).toMatchObject({ ok: false, reason: 'bad_score' });
    expect(acceptSurveyAnswer(answer(4, 'x'.repeat(SURVEY_COMMENT_MAX + 1)), closed)).toMatchObject({
      reason: 'comment_too_long',
    });
    expect(acceptSurveyAnswer(answer(4, 'خ'.repeat(SURVEY_COMMENT_MAX)), closed)).toMatchObject({ ok: true });
    expect(acceptSurveyAnswer(answer(4), { status: 'resolved', alreadyAnswered: false })).toMatchObject({
      reason: 'case_not_closed',
    });
    const again = acceptSurveyAnswer(answer(4), { status: 'closed', alreadyAnswered: true });
    expect(again).toMatchObject({
      ok: false,
      reason: 'already_answered',
      message: { fa: expect.any(String), en: expect.any(String) },
    });
  });
});
