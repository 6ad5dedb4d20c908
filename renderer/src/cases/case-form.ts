/**
 * The create-case form: its zod schema (limits from CASE_LIMITS, messages as i18n keys so they
 * show in the user's language) and the step from form values to a new CaseDoc.
 */
import { z } from 'zod';
import {
  CASE_CHANNELS,
  CASE_LIMITS,
  CASE_PRIORITIES,
  newId,
  type CaseChannel,
  type CaseDoc,
  type Role,
  type UserProfile,
} from '@emdad/domain';
import { possibleDuplicateOf, type DuplicateCandidate } from '@emdad/domain/workflow/duplicates';

const PERSIAN_DIGITS = '۰۱۲۳۴۵۶۷۸۹';
const ARABIC_DIGITS = '٠١٢٣٤٥٦٧٨٩';

/** Persian and Arabic-Indic digits to ASCII; everything else unchanged. */
export function toAsciiDigits(input: string): string {
  let out = '';
  for (const ch of input) {
    const p = PERSIAN_DIGITS.indexOf(ch);
    const a = ARABIC_DIGITS.indexOf(ch);
    out += p >= 0 ? String(p) : a >= 0 ? String(a) : ch;
  }
  return out;
}

/** A phone number as typed (any digits, spaces, dashes, brackets) to its stored form. */
export function normalisePhone(input: string): string {
  return toAsciiDigits(input).replace(/[\s\-().\u200c\u200f\u200e]/g, '');
}

const phonePattern = new RegExp(CASE_LIMITS.reporterPhonePattern);

/** i18n keys of the form messages (see i18n/resources.ts, `form.*`). */
export const FORM_MESSAGES = {
  required: 'form.required',
  tooLong: 'form.tooLong',
  phone: 'form.phone',
  choose: 'form.choose',
} as const;

const requiredText = (max: number) =>
  z
    .string()
    .trim()
    .min(1, { message: FORM_MESSAGES.required, abort: true })
    .max(max, { message: FORM_MESSAGES.tooLong });

export const caseFormSchema = z.object({
  templateId: z.string().min(1, { message: FORM_MESSAGES.choose }),
  channel: z.enum(CASE_CHANNELS, { message: FORM_MESSAGES.choose }),
  priority: z.enum(CASE_PRIORITIES, { message: FORM_MESSAGES.choose }),
  merchantId: z.string(),
  equipmentId: z.string(),
  subject: requiredText(CASE_LIMITS.subjectMax),
  description: z.string().trim().max(CASE_LIMITS.descriptionMax, { message: FORM_MESSAGES.tooLong }),
  reporterName: requiredText(CASE_LIMITS.reporterNameMax),
  reporterPhone: z
    .string()
    .transform(normalisePhone)
    .pipe(
      z
        .string()
        .min(1, { message: FORM_MESSAGES.required, abort: true })
        .regex(phonePattern, { message: FORM_MESSAGES.phone }),
    ),
});

export type CaseFormInput = z.input<typeof caseFormSchema>;
export type CaseFormValues = z.output<typeof caseFormSchema>;

/** Branch staff log walk-ins at the counter; technicians open cases on site. */
export function defaultChannelFor(role: Role): CaseChannel {
  return role === 'technician' ? 'field' : role === 'branch_staff' ? 'walk_in' : 'phone';
}

export function buildNewCase(input: {
  values: CaseFormValues;
  user: Pick<UserProfile, 'id' | 'branchId'>;
  trackingCode: string;
  now?: Date;
  id?: string;
}): CaseDoc {
  const at = (input.now ?? new Date()).toISOString();
  const { values } = input;
  return {
    id: input.id ?? newId(),
    trackingCode: input.trackingCode,
    templateId: values.templateId,
    channel: values.channel,
    status: 'new',
    priority: values.priority,
    merchantId: values.merchantId || null,
    equipmentId: values.merchantId && values.equipmentId ? values.equipmentId : null,
    branchId: input.user.branchId,
    subject: values.subject,
    description: values.description,
    reporterName: values.reporterName,
    reporterPhone: values.reporterPhone,
    createdBy: input.user.id,
    assigneeId: null,
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * The open case on this device that a new one would possibly duplicate — same template and same
 * device, opened within the window (the server's rule, domain/src/workflow/duplicates.ts) — so the
 * form warns before saving; null until a template and a device are chosen, or when none matches.
 * The user may still save: the server flags the duplicate again with everything it knows.
 */
export function localDuplicateOf(
  choice: Pick<CaseFormInput, 'templateId' | 'merchantId' | 'equipmentId'>,
  localCases: readonly DuplicateCandidate[],
  now: Date,
  windowMs?: number,
): DuplicateCandidate | null {
  // As buildNewCase: a device counts only under a chosen merchant.
  if (!choice.templateId || !choice.merchantId || !choice.equipmentId) return null;
  return possibleDuplicateOf(
    { templateId: choice.templateId, equipmentId: choice.equipmentId, createdAt: now.toISOString() },
    localCases,
    windowMs,
  );
}
