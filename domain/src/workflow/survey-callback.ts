/**
 * The call-back task a low survey score creates (issue 5, part 7), as this model represents a task:
 * a CASE with the template `tpl-survey-callback`, assigned to the manager (supervisor) of the team
 * that handled the original case. Being a case, it appears in the manager's case list on every
 * device through ordinary replication, goes through the same status machine (new → in_progress →
 * resolved → closed once the call was made), and gets its own SLA from the template's targets in
 * fixtures/data/sla-targets.json (resolution within the rule's `targetMinutes` business minutes).
 * It carries the merchant, equipment, branch and reporter of the original case so the manager can
 * call straight away; its subject names the original tracking code.
 *
 * Tracking code: the server mints it from prefix `000`, which is never given to an install (install
 * prefixes are numbered from 1), so a server-made case never collides with a device's code.
 */
import type { CaseClientFields, CaseDoc, CasePriority } from '../case.ts';
import type { SurveyChannel } from '../model/surveys.ts';
import type { SurveyFollowUp } from './survey.ts';

export const CALLBACK_TEMPLATE_ID = 'tpl-survey-callback';
/** Tracking prefix of cases the server itself opens (prefix number 0, never an install's). */
export const SERVER_TRACKING_PREFIX = '000';
/** The author recorded on server-made cases and in the audit log. */
export const SYSTEM_AUTHOR_ID = 'system';

const PERSIAN_DIGITS = '۰۱۲۳۴۵۶۷۸۹';
const persian = (n: number) => String(n).replace(/[0-9]/g, (d) => PERSIAN_DIGITS[Number(d)]!);

/** A score of 1 is the most urgent call. */
export function callbackPriority(score: number): CasePriority {
  return score <= 1 ? 'urgent' : 'high';
}

const CHANNEL_OF_SURVEY: Record<SurveyChannel, CaseDoc['channel']> = {
  field: 'field',
  tracking_page: 'portal',
  phone: 'phone',
};

export interface CallbackCaseInput {
  id: string;
  trackingCode: string;
  original: Pick<
    CaseDoc,
    'trackingCode' | 'subject' | 'merchantId' | 'equipmentId' | 'branchId' | 'reporterName' | 'reporterPhone'
  >;
  followUp: SurveyFollowUp;
  surveyChannel: SurveyChannel;
  /** The manager of the original case's team; null when no team with a supervisor could be found. */
  managerId: string | null;
  /** Server time, ISO. */
  now: string;
}

/** The call-back case, without the server-owned fields (the server's writer stamps them). */
export function buildCallbackCase(input: CallbackCaseInput): CaseClientFields {
  const { original, followUp } = input;
  const score = followUp.reason.score;
  const subject = `تماس با مشتری ناراضی (امتیاز ${persian(score)} از ۵) — ${original.trackingCode}`;
  const comment = followUp.reason.comment;
  const description = [
    `Survey score ${score}/5 for ${original.trackingCode}. Call the merchant back within ${followUp.targetMinutes} business minutes.`,
    `امتیاز نظرسنجی ${persian(score)} از ۵ برای ${original.trackingCode}. ظرف ${persian(followUp.targetMinutes)} دقیقهٔ کاری با مشتری تماس بگیرید.`,
    `Original request / درخواست اصلی: ${original.subject}`,
    comment ? `Customer’s comment / نظر مشتری: ${comment}` : 'No comment / بدون توضیح',
  ].join('\n');
  return {
    id: input.id,
    trackingCode: input.trackingCode,
    templateId: CALLBACK_TEMPLATE_ID,
    channel: CHANNEL_OF_SURVEY[input.surveyChannel],
    status: 'new',
    priority: callbackPriority(score),
    merchantId: original.merchantId,
    equipmentId: original.equipmentId,
    branchId: original.branchId,
    subject: [...subject].slice(0, 200).join(''),
    description: [...description].slice(0, 4000).join(''),
    reporterName: original.reporterName,
    reporterPhone: original.reporterPhone,
    createdBy: SYSTEM_AUTHOR_ID,
    assigneeId: input.managerId,
    createdAt: input.now,
    updatedAt: input.now,
  };
}
