import { describe, expect, it } from 'vitest';
import { validateCollectionDocument } from '../validate.ts';
import { ATTACHMENT_LIMITS, type AttachmentRef } from './attachments.ts';
import { COLLECTIONS, migrateDocument } from './index.ts';

const receipt: AttachmentRef = {
  sha256: 'a'.repeat(64),
  name: 'receipt.jpg',
  contentType: 'image/jpeg',
  size: 48_213,
  addedAt: '2026-11-20T08:05:00.000Z',
};

describe('expenses migrations (v0 → v2: attachments)', () => {
  const v0 = {
    id: 'exp-1',
    missionId: null,
    submitterId: 'usr-tech1',
    category: 'transport',
    amount: 1_200_000,
    description: 'Taxi to the merchant',
    receipt: true,
    status: 'draft',
    submittedAt: null,
    decidedBy: null,
    decidedAt: null,
    rejectionReason: null,
    createdAt: '2026-11-20T08:00:00.000Z',
    updatedAt: '2026-11-20T08:00:00.000Z',
  };

  it('turns a stored v0 document into a valid current one with no attachments', () => {
    expect(COLLECTIONS.expenses.schema.version).toBe(2);
    const migrated = migrateDocument(COLLECTIONS.expenses.migrationStrategies, v0, 0, 2);
    expect(migrated).toMatchObject({ currency: 'IRR', hasReceipt: true, attachments: [] });
    expect(validateCollectionDocument('expenses', migrated)).toEqual({ ok: true });
  });

  it('keeps a v1 document as it was and adds an empty list', () => {
    const v1 = migrateDocument(COLLECTIONS.expenses.migrationStrategies, v0, 0, 1)!;
    expect(v1).not.toHaveProperty('attachments');
    expect(migrateDocument(COLLECTIONS.expenses.migrationStrategies, v1, 1, 2)).toEqual({
      ...v1,
      attachments: [],
    });
  });

  it('accepts receipts as references and refuses malformed ones', () => {
    const v2 = {
      ...migrateDocument(COLLECTIONS.expenses.migrationStrategies, v0, 0, 2)!,
      attachments: [receipt],
    };
    expect(validateCollectionDocument('expenses', v2)).toEqual({ ok: true });
    // A v1 client's document without the field stays valid (absent = no attachments).
    const { attachments: _a, ...withoutField } = v2;
    expect(validateCollectionDocument('expenses', withoutField)).toEqual({ ok: true });
    for (const bad of [
      { ...receipt, sha256: 'A'.repeat(64) },
      { ...receipt, sha256: 'abc' },
      { ...receipt, contentType: 'application/x-msdownload' },
      { ...receipt, size: ATTACHMENT_LIMITS.maxBytes + 1 },
      { ...receipt, size: 0 },
      { ...receipt, extra: true },
    ]) {
      expect(
        validateCollectionDocument('expenses', { ...v2, attachments: [bad] }).ok,
        JSON.stringify(bad),
      ).toBe(false);
    }
    const tooMany = Array.from({ length: ATTACHMENT_LIMITS.maxPerDocument + 1 }, (_, i) => ({
      ...receipt,
      sha256: i.toString(16).padStart(64, '0'),
    }));
    expect(validateCollectionDocument('expenses', { ...v2, attachments: tooMany }).ok).toBe(false);
  });
});

describe('diagnostics migrations (v0 → v1: attachments)', () => {
  const v0 = {
    id: 'dia-1',
    caseId: null,
    equipmentId: null,
    technicianId: 'usr-tech1',
    device: { kind: 'pinpad', model: 'Gertec PPC930', serial: null },
    startedAt: '2026-11-20T08:00:00.000Z',
    finishedAt: '2026-11-20T08:01:00.000Z',
    outcome: 'passed',
    steps: [],
    rawFrames: [],
    createdAt: '2026-11-20T08:00:00.000Z',
    updatedAt: '2026-11-20T08:01:00.000Z',
  };

  it('turns a stored v0 document into a valid v1 one with no attachments', () => {
    expect(COLLECTIONS.diagnostics.schema.version).toBe(1);
    const migrated = migrateDocument(COLLECTIONS.diagnostics.migrationStrategies, v0, 0, 1);
    expect(migrated).toEqual({ ...v0, attachments: [] });
    expect(validateCollectionDocument('diagnostics', migrated)).toEqual({ ok: true });
    const log: AttachmentRef = { ...receipt, name: 'abecs-session.log', contentType: 'text/plain' };
    expect(validateCollectionDocument('diagnostics', { ...migrated, attachments: [log] })).toEqual({
      ok: true,
    });
  });
});
