/**
 * Write rules of the `surveys` collection for pushes from devices (called from rules.ts). A device
 * answers a case's survey in the field: it turns the server's `pending` survey into an `answered`
 * one, or — when it took the answer offline before the server's offer reached it — creates the
 * answered survey itself under the same id (the case's id). The server alone offers surveys and
 * records tracking-page answers; an answered survey never changes again.
 */
import type { CaseStatus } from '@emdad/domain';
import { SURVEY_FIXED_FIELDS, surveyShapeProblem, type SurveyDoc } from '@emdad/domain/model/index';
import { acceptSurveyAnswer, SURVEY_SENTENCES, type SurveyRefusal } from '@emdad/domain/workflow/survey';
import type { ErrorCode } from '@emdad/domain';
import type { Queryable } from '../db/index.ts';
import { Refusal, type WriteInput } from './rules.ts';

const REFUSAL_CODES: Record<SurveyRefusal, ErrorCode> = {
  bad_score: 'validation_failed',
  comment_too_long: 'validation_failed',
  case_not_closed: 'invalid_transition',
  already_answered: 'append_only',
};

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export async function checkSurveyWrite(tx: Queryable, input: WriteInput): Promise<void> {
  const { scope } = input;
  const master = input.master as SurveyDoc | null;
  const candidate = input.candidate as unknown as SurveyDoc;
  if (input.deleted) throw new Refusal('append_only', 'A survey cannot be deleted.');
  const shape = surveyShapeProblem(candidate);
  if (shape) throw new Refusal('validation_failed', shape.message);
  if (master?.status === 'answered') throw new Refusal('append_only', SURVEY_SENTENCES.already_answered.en);
  if (candidate.status !== 'answered')
    throw new Refusal(
      'forbidden',
      'Surveys are offered by the server when a case closes; a device only sends the answer.',
    );
  if (master) {
    for (const field of SURVEY_FIXED_FIELDS)
      if (!same(master[field], candidate[field]))
        throw new Refusal('validation_failed', `The ${field} of a survey cannot be changed.`);
  }
  if (candidate.channel === 'tracking_page')
    throw new Refusal(
      'forbidden',
      'Answers on the tracking-page channel come from the merchant’s own page; record a field or phone answer.',
    );
  if (candidate.takenBy !== scope.userId)
    throw new Refusal('forbidden', 'A survey answer must be recorded by the signed-in user (takenBy).');
  const found = await tx.query<{ status: CaseStatus }>(
    "SELECT doc->>'status' AS status FROM cases WHERE id = $1 AND NOT deleted",
    [candidate.caseId],
  );
  const outcome = acceptSurveyAnswer(
    {
      caseId: candidate.caseId,
      score: candidate.score ?? Number.NaN,
      comment: candidate.comment,
      channel: candidate.channel ?? 'field',
      answeredAt: candidate.answeredAt ?? '',
    },
    { status: found[0]?.status ?? 'unknown', alreadyAnswered: false },
  );
  if (!outcome.ok) throw new Refusal(REFUSAL_CODES[outcome.reason], outcome.message.en);
}
