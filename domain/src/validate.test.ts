import { describe, expect, it } from 'vitest';
import { validateCaseDocument } from './validate.ts';

const valid = {
  id: '0190a0b0-0000-7000-8000-000000000001',
  trackingCode: 'K7Q-1405-000001-X',
  templateId: 'tpl-pos-no-print',
  channel: 'walk_in',
  status: 'new',
  priority: 'normal',
  merchantId: null,
  equipmentId: null,
  branchId: null,
  subject: 'POS does not print',
  description: '',
  reporterName: 'علی رضایی',
  reporterPhone: '09120000000',
  createdBy: 'u-branch1',
  assigneeId: null,
  createdAt: '2026-11-23T08:00:00.000Z',
  updatedAt: '2026-11-23T08:00:00.000Z',
};

describe('case schema', () => {
  it('accepts a valid case', () => expect(validateCaseDocument(valid)).toEqual({ ok: true }));
  it('refuses unknown fields, bad enums, bad phones and bad dates with paths', () => {
    const result = validateCaseDocument({
      ...valid,
      hacked: 1,
      channel: 'pigeon',
      reporterPhone: 'call me',
      createdAt: 'yesterday',
    });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      const paths = result.issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['/channel', '/reporterPhone', '/createdAt']));
      expect(result.issues.some((i) => i.message.includes('additional'))).toBe(true);
    }
  });
  it('refuses a missing required field', () => {
    const { subject: _subject, ...rest } = valid;
    expect(validateCaseDocument(rest).ok).toBe(false);
  });
});
