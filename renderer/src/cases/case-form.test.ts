import { describe, expect, it } from 'vitest';
import { CASE_LIMITS } from '@emdad/domain';
import { validateCaseDocument } from '@emdad/domain/validate';
import {
  buildNewCase,
  caseFormSchema,
  defaultChannelFor,
  localDuplicateOf,
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

describe('localDuplicateOf (the warning before saving a possible duplicate)', () => {
  const now = new Date('2026-11-23T10:00:00.000Z');
  const open = {
    id: 'c-open',
    trackingCode: 'AB12-0001-7',
    templateId: 'tpl-1',
    equipmentId: 'eq-1',
    status: 'in_progress' as const,
    createdAt: '2026-11-20T10:00:00.000Z',
  };
  const choice = { templateId: 'tpl-1', merchantId: 'm-1', equipmentId: 'eq-1' };

  it('finds an open case of the same template on the same device within the window', () => {
    expect(localDuplicateOf(choice, [open], now)?.trackingCode).toBe('AB12-0001-7');
  });

  it('says nothing for another template, another device, a closed case or one outside the window', () => {
    expect(localDuplicateOf({ ...choice, templateId: 'tpl-2' }, [open], now)).toBeNull();
    expect(localDuplicateOf({ ...choice, equipmentId: 'eq-2' }, [open], now)).toBeNull();
    expect(localDuplicateOf(choice, [{ ...open, status: 'resolved' }], now)).toBeNull();
    expect(localDuplicateOf(choice, [open], now, 2 * 24 * 3_600_000)).toBeNull();
  });

  it('waits until a template and a device under a merchant are chosen', () => {
    expect(localDuplicateOf({ ...choice, templateId: '' }, [open], now)).toBeNull();
    expect(localDuplicateOf({ ...choice, equipmentId: '' }, [open], now)).toBeNull();
    // buildNewCase drops a device without a merchant: no device, no duplicate.
    expect(localDuplicateOf({ ...choice, merchantId: '' }, [open], now)).toBeNull();
  });

  it('names the nearest of several', () => {
    const older = {
      ...open,
      id: 'c-older',
      trackingCode: 'AB12-0000-1',
      createdAt: '2026-11-17T10:00:00.000Z',
    };
    expect(localDuplicateOf(choice, [older, open], now)?.id).toBe('c-open');
  });
});
