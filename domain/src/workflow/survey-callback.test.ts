import { describe, expect, it } from 'vitest';
import { validateCaseDocument } from '../validate.ts';
import { parseTrackingCode, formatTrackingCode } from '../tracking-code.ts';
import { acceptSurveyAnswer } from './survey.ts';
import {
  buildCallbackCase,
  CALLBACK_TEMPLATE_ID,
  callbackPriority,
  SERVER_TRACKING_PREFIX,
  SYSTEM_AUTHOR_ID,
} from './survey-callback.ts';

const original = {
  trackingCode: formatTrackingCode('A01', 1405, 42),
  subject: 'کارت‌خوان رسید چاپ نمی‌کند',
  merchantId: 'mer-001',
  equipmentId: 'eq-001-pos',
  branchId: 'br-tehran-vanak',
  reporterName: 'آقای محمدی',
  reporterPhone: '09121234567',
};

function followUp(score: number, comment: string | null) {
  const outcome = acceptSurveyAnswer(
    { caseId: 'case-1', score, comment, channel: 'tracking_page', answeredAt: '2026-11-23T08:00:00.000Z' },
    { status: 'closed', alreadyAnswered: false },
  );
  if (!outcome.ok) throw new Error('refused');
  return outcome.followUps[0]!;
}

describe('the survey call-back task', () => {
  it('is a valid new case for the team manager, with the original merchant and reporter', () => {
    const task = buildCallbackCase({
      id: 'cb-1',
      trackingCode: formatTrackingCode(SERVER_TRACKING_PREFIX, 1405, 1),
      original,
      followUp: followUp(1, 'Nobody came'),
      surveyChannel: 'tracking_page',
      managerId: 'usr-super1',
      now: '2026-11-23T08:00:01.000Z',
    });
    expect(validateCaseDocument(task)).toEqual({ ok: true });
    expect(task).toMatchObject({
      templateId: CALLBACK_TEMPLATE_ID,
      status: 'new',
      priority: 'urgent',
      channel: 'portal',
      assigneeId: 'usr-super1',
      createdBy: SYSTEM_AUTHOR_ID,
      merchantId: 'mer-001',
      equipmentId: 'eq-001-pos',
      branchId: 'br-tehran-vanak',
      reporterPhone: '09121234567',
    });
    expect(task.subject).toContain(original.trackingCode);
    expect(task.description).toContain('Nobody came');
    expect(task.description).toContain('240');
    expect(parseTrackingCode(task.trackingCode)).toMatchObject({ ok: true, prefix: '000' });
  });

  it('a score of 1 is urgent, 2 is high', () => {
    expect(callbackPriority(1)).toBe('urgent');
    expect(callbackPriority(2)).toBe('high');
  });

  it('stays within the case limits with the longest comment and subject', () => {
    const task = buildCallbackCase({
      id: 'cb-2',
      trackingCode: formatTrackingCode(SERVER_TRACKING_PREFIX, 1405, 2),
      original: { ...original, subject: 'س'.repeat(200) },
      followUp: followUp(2, 'ن'.repeat(1000)),
      surveyChannel: 'field',
      managerId: null,
      now: '2026-11-23T08:00:01.000Z',
    });
    expect(validateCaseDocument(task)).toEqual({ ok: true });
    expect(task.assigneeId).toBeNull();
    expect(task.channel).toBe('field');
  });
});
