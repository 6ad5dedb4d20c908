import { describe, expect, it } from 'vitest';
import { CASE_LIMITS } from '@emdad/domain';
import { validateCaseDocument } from '@emdad/domain/validate';
import {
  buildNewCase,
  caseFormSchema,
  defaultChannelFor,
  normalisePhone,
  type CaseFormInput,
} from './case-form.ts';

const valid: CaseFormInput = {
  templateId: 'tpl-1',
  channel: 'walk_in',
  priority: 'normal',
  merchantId: 'm-1',
  equipmentId: 'eq-1',
  subject: 'کارتخوان چاپ نمی‌کند',
  description: '',
  reporterName: 'رضا',
  reporterPhone: '۰۹۱۲ ۳۴۵-۶۷۸۹',
};

function messages(input: CaseFormInput): Record<string, string> {
  const r = caseFormSchema.safeParse(input);
  if (r.success) return {};
  return Object.fromEntries(r.error.issues.map((i) => [String(i.path[0]), i.message]));
}

describe('create-case form schema', () => {
  it('accepts a valid case and stores Persian/Arabic digits of the phone as ASCII', () => {
    const r = caseFormSchema.parse(valid);
    expect(r.reporterPhone).toBe('09123456789');
    expect(caseFormSchema.parse({ ...valid, reporterPhone: '+٩٨ ٩١٢ ٣٤٥ ٦٧٨٩' }).reporterPhone).toBe(
      '+989123456789',
    );
    expect(normalisePhone('(021) 8888-1234')).toBe('02188881234');
  });

  it('enforces the shared limits with message keys', () => {
    expect(messages({ ...valid, subject: '   ' })).toEqual({ subject: 'form.required' });
    expect(messages({ ...valid, subject: 'x'.repeat(CASE_LIMITS.subjectMax) })).toEqual({});
    expect(messages({ ...valid, subject: 'x'.repeat(CASE_LIMITS.subjectMax + 1) })).toEqual({
      subject: 'form.tooLong',
    });
    expect(messages({ ...valid, description: 'x'.repeat(CASE_LIMITS.descriptionMax + 1) })).toEqual({
      description: 'form.tooLong',
    });
    expect(messages({ ...valid, reporterName: 'x'.repeat(CASE_LIMITS.reporterNameMax + 1) })).toEqual({
      reporterName: 'form.tooLong',
    });
    expect(messages({ ...valid, reporterPhone: '12345' })).toEqual({ reporterPhone: 'form.phone' });
    expect(messages({ ...valid, reporterPhone: '0912abc4567' })).toEqual({ reporterPhone: 'form.phone' });
    expect(messages({ ...valid, reporterPhone: '' })).toEqual({ reporterPhone: 'form.required' });
    expect(messages({ ...valid, templateId: '' })).toEqual({ templateId: 'form.choose' });
  });

  it('builds a case the shared JSON schema accepts', () => {
    const values = caseFormSchema.parse(valid);
    const doc = buildNewCase({
      values,
      user: { id: 'u-1', branchId: 'br-1' },
      trackingCode: 'A01-1405-000001-K',
      now: new Date('2026-11-23T10:00:00Z'),
    });
    expect(doc).toMatchObject({
      status: 'new',
      createdBy: 'u-1',
      branchId: 'br-1',
      createdAt: '2026-11-23T10:00:00.000Z',
      updatedAt: '2026-11-23T10:00:00.000Z',
    });
    expect(validateCaseDocument(doc)).toEqual({ ok: true });
    const noMerchant = buildNewCase({
      values: { ...values, merchantId: '' },
      user: { id: 'u', branchId: null },
      trackingCode: 'A01-1405-000002-T',
    });
    expect(noMerchant.merchantId).toBeNull();
    expect(noMerchant.equipmentId).toBeNull();
  });

  it('defaults the channel by role', () => {
    expect(defaultChannelFor('branch_staff')).toBe('walk_in');
    expect(defaultChannelFor('technician')).toBe('field');
  });
});
