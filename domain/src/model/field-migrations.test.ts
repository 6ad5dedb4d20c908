/** Migrations of the field-workflow collections (equipment v0 → v1, missions v0 → v1), from v0. */
import { describe, expect, it } from 'vitest';
import { validateCollectionDocument } from '../validate.ts';
import { COLLECTIONS, migrateDocument } from './index.ts';

describe('equipment migrations (v0 → v1)', () => {
  const v0 = {
    id: 'eq-001-pos',
    merchantId: 'mer-001',
    kind: 'pos',
    serial: '0824100267',
    model: 'PAX S90',
    vendor: 'PAX',
    terminalId: '21004517',
    psp: null,
    status: 'installed',
    firmware: 'S90_IR_3.14.01',
    statusReason: null,
    replacementSerial: null,
    regionId: 'reg-tehran',
    branchId: 'br-tehran-vanak',
    updatedAt: '2026-01-01T00:00:00.000Z',
    serverUpdatedAt: 5,
  };

  it('keeps the document and invents no server-owned history (the next pull brings the server’s)', () => {
    const v1 = migrateDocument(COLLECTIONS.equipment.migrationStrategies, v0, 0, 1);
    expect(v1).toEqual(v0);
    expect(v1).not.toHaveProperty('history');
    expect(validateCollectionDocument('equipment', v1)).toEqual({ ok: true });
  });

  it('v1 accepts a history entry and refuses a malformed one', () => {
    const entry = {
      id: 'eqh-1',
      type: 'swap_out',
      at: '2026-11-23T08:00:00.000Z',
      merchantId: 'mer-001',
      fromStatus: 'installed',
      toStatus: 'swapped_out',
      otherSerial: 'SPARE-1',
      byUserId: 'usr-tech1',
      note: null,
    };
    expect(validateCollectionDocument('equipment', { ...v0, history: [entry] })).toEqual({ ok: true });
    expect(
      validateCollectionDocument('equipment', { ...v0, history: [{ ...entry, type: 'teleport' }] }).ok,
    ).toBe(false);
  });
});

describe('missions migrations (v0 → v1)', () => {
  const v0 = {
    id: 'mis-1',
    title: 'Replace a PinPad',
    status: 'in_progress',
    createdBy: 'usr-tech1',
    assigneeId: 'usr-tech1',
    place: 'Vanak Square',
    caseIds: ['case-1'],
    windowStart: '2026-11-23T05:00:00.000Z',
    windowEnd: '2026-11-23T09:00:00.000Z',
    approvedBy: 'usr-super1',
    approvedAt: '2026-11-23T04:00:00.000Z',
    reportActivities: ['Replaced the cable', 'Test transaction approved'],
    revisitReason: null,
    createdAt: '2026-11-22T10:00:00.000Z',
    updatedAt: '2026-11-23T08:00:00.000Z',
  };

  it('turns v0 report lines into activities on the mission’s only case, valid against v1', () => {
    const v1 = migrateDocument(COLLECTIONS.missions.migrationStrategies, v0, 0, 1);
    expect(v1?.reportActivities).toEqual([
      { id: 'v0-1', caseId: 'case-1', text: 'Replaced the cable', minutes: null, at: v0.updatedAt },
      { id: 'v0-2', caseId: 'case-1', text: 'Test transaction approved', minutes: null, at: v0.updatedAt },
    ]);
    expect(v1).not.toHaveProperty('orders');
    expect(validateCollectionDocument('missions', v1)).toEqual({ ok: true });
  });

  it('leaves the case open when the mission has several (the technician assigns each before filing)', () => {
    const v1 = migrateDocument(
      COLLECTIONS.missions.migrationStrategies,
      { ...v0, caseIds: ['a', 'b'] },
      0,
      1,
    );
    expect((v1?.reportActivities as { caseId: string | null }[]).map((a) => a.caseId)).toEqual([null, null]);
    expect(validateCollectionDocument('missions', v1)).toEqual({ ok: true });
    // A v0 document is no longer valid as v1 (plain strings are not activities).
    expect(validateCollectionDocument('missions', v0).ok).toBe(false);
  });
});
