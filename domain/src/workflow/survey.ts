/**
 * Satisfaction surveys when a case closes: a score from 1 to 5 and an optional comment, taken in
 * the field or on the tracking page. Rules on the answers create work: by default a score of 2 or
 * less creates a call-back task for the team's manager, with its own target (business minutes,
 * evaluated with `evaluateClock` from sla/evaluate.ts).
 */

export const SURVEY_COMMENT_MAX = 1000;

export interface SurveyAnswer {
  caseId: string;
  score: number;
  comment: string | null;
  channel: 'field' | 'tracking_page' | 'phone';
  answeredAt: string;
}

export interface SurveyRule {
  /** The rule fires when the score is at most this. */
  maxScore: number;
  action: 'callback_task';
  /** Who gets the task: the manager of the team that handled the case. */
  assignTo: 'team_manager';
  targetMinutes: number;
}

export const DEFAULT_SURVEY_RULES: readonly SurveyRule[] = [
  { maxScore: 2, action: 'callback_task', assignTo: 'team_manager', targetMinutes: 240 },
];

export type SurveyRefusal = 'bad_score' | 'comment_too_long' | 'case_not_closed' | 'already_answered';

export const SURVEY_SENTENCES: Readonly<Record<SurveyRefusal, { fa: string; en: string }>> = {
  bad_score: { en: 'Choose a score from 1 to 5.', fa: 'امتیازی از ۱ تا ۵ انتخاب کنید.' },
  comment_too_long: {
    en: `Shorten the comment to ${SURVEY_COMMENT_MAX} characters or fewer.`,
    fa: `توضیح را به ${SURVEY_COMMENT_MAX} نویسه یا کمتر کوتاه کنید.`,
  },
  case_not_closed: {
    en: 'The survey opens when the case is closed. Try again after it is closed.',
    fa: 'نظرسنجی پس از بسته شدن درخواست فعال می‌شود. پس از بسته شدن دوباره تلاش کنید.',
  },
  already_answered: {
    en: 'This survey has already been answered. Thank you.',
    fa: 'به این نظرسنجی قبلاً پاسخ داده شده است. سپاسگزاریم.',
  },
};

export interface SurveyFollowUp {
  type: 'callback_task';
  caseId: string;
  assignTo: 'team_manager';
  targetMinutes: number;
  /** The task's clock starts when the answer arrived. */
  startsAt: string;
  reason: { score: number; comment: string | null };
}

/** Checks an answer and returns the work its rules create (none for a happy customer). */
export function acceptSurveyAnswer(
  answer: SurveyAnswer,
  caseState: { status: string; alreadyAnswered: boolean },
  rules: readonly SurveyRule[] = DEFAULT_SURVEY_RULES,
):
  | { ok: true; followUps: SurveyFollowUp[] }
  | { ok: false; reason: SurveyRefusal; message: { fa: string; en: string } } {
  const refuse = (reason: SurveyRefusal) => ({
    ok: false as const,
    reason,
    message: SURVEY_SENTENCES[reason],
  });
  if (caseState.status !== 'closed') return refuse('case_not_closed');
  if (caseState.alreadyAnswered) return refuse('already_answered');
  if (!Number.isInteger(answer.score) || answer.score < 1 || answer.score > 5) return refuse('bad_score');
  if (answer.comment && [...answer.comment].length > SURVEY_COMMENT_MAX) return refuse('comment_too_long');
  const followUps = rules
    .filter((rule) => answer.score <= rule.maxScore)
    .map((rule) => ({
      type: rule.action,
      caseId: answer.caseId,
      assignTo: rule.assignTo,
      targetMinutes: rule.targetMinutes,
      startsAt: answer.answeredAt,
      reason: { score: answer.score, comment: answer.comment?.trim() || null },
    }));
  return { ok: true, followUps };
}
