import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { documentsEqual, mergeDocumentConflict, type MergeSpec } from './conflict.ts';
import type { WireDoc } from './replication.ts';
import { COLLECTIONS } from './model/index.ts';
import type { ExpenseDoc } from './model/expenses.ts';

const expenses: MergeSpec = COLLECTIONS.expenses;
const base: WireDoc<ExpenseDoc> = {
  id: 'exp-1',
  missionId: null,
  submitterId: 'u-tech1',
  category: 'transport',
  amount: 1_000_000,
  currency: 'IRR',
  description: 'Taxi',
  hasReceipt: false,
  status: 'draft',
  submittedAt: null,
  decidedBy: null,
  decidedAt: null,
  rejectionReason: null,
  createdAt: '2026-11-23T08:00:00.000Z',
  updatedAt: '2026-11-23T08:00:00.000Z',
  serverUpdatedAt: 100,
  attachments: [],
  _deleted: false,
};

describe('mergeDocumentConflict (every collection but cases)', () => {
  it('keeps a field only the device changed and takes the fields only the server changed', () => {
    const mine = { ...base, description: 'Taxi and metro', updatedAt: '2026-11-23T09:00:00.000Z' };
    const theirs = {
      ...base,
      amount: 1_200_000,
      updatedAt: '2026-11-23T08:30:00.000Z',
      serverUpdatedAt: 130,
    };
    const merged = mergeDocumentConflict(expenses, {
      newDocumentState: mine,
      assumedMasterState: base,
      realMasterState: theirs,
    });
    expect(merged).toMatchObject({
      description: 'Taxi and metro',
      amount: 1_200_000,
      serverUpdatedAt: 130,
      updatedAt: '2026-11-23T09:00:00.000Z',
      _deleted: false,
    });
  });

  it('lets the server win a field both changed, and always for server-owned fields', () => {
    const mine = { ...base, description: 'mine', serverUpdatedAt: 999 };
    const theirs = { ...base, description: 'theirs', serverUpdatedAt: 130 };
    const merged = mergeDocumentConflict(expenses, {
      newDocumentState: mine,
      assumedMasterState: base,
      realMasterState: theirs,
    });
    expect(merged.description).toBe('theirs');
    expect(merged.serverUpdatedAt).toBe(130);
    // Nothing of the device's survived: the server's edit time stands.
    expect(merged.updatedAt).toBe(theirs.updatedAt);
  });

  it('keeps a supervisor decision that reached the server while the device edited the description', () => {
    const theirs = {
      ...base,
      status: 'approved' as const,
      decidedBy: 'u-sup1',
      decidedAt: '2026-11-23T08:40:00.000Z',
      serverUpdatedAt: 140,
    };
    const mine = { ...base, description: 'with receipt number 12', updatedAt: '2026-11-23T09:00:00.000Z' };
    const merged = mergeDocumentConflict(expenses, {
      newDocumentState: mine,
      assumedMasterState: base,
      realMasterState: theirs,
    });
    expect(merged).toMatchObject({
      status: 'approved',
      decidedBy: 'u-sup1',
      description: 'with receipt number 12',
    });
  });

  it('takes the server version outright for read-only and append-only collections', () => {
    const mine = { ...base, description: 'mine' };
    const theirs = { ...base, amount: 5, serverUpdatedAt: 130 };
    for (const spec of [COLLECTIONS.reference, { ...expenses, appendOnly: true }] as MergeSpec[]) {
      expect(
        mergeDocumentConflict(spec, {
          newDocumentState: mine,
          assumedMasterState: base,
          realMasterState: theirs,
        }),
      ).toEqual(theirs);
    }
  });

  it('without a base (the same id created on two sides) the server version stands', () => {
    const mine = { ...base, description: 'mine', serverUpdatedAt: null };
    const theirs = { ...base, description: 'theirs' };
    const merged = mergeDocumentConflict(expenses, {
      newDocumentState: mine,
      assumedMasterState: null,
      realMasterState: theirs,
    });
    expect(merged).toEqual(theirs);
  });

  it('keeps a delete only the device made, and a server delete over a device edit', () => {
    const theirs = { ...base, amount: 7, serverUpdatedAt: 130 };
    expect(
      mergeDocumentConflict(expenses, {
        newDocumentState: { ...base, _deleted: true },
        assumedMasterState: base,
        realMasterState: theirs,
      })._deleted,
    ).toBe(true);
    expect(
      mergeDocumentConflict(expenses, {
        newDocumentState: { ...base, description: 'edited' },
        assumedMasterState: base,
        realMasterState: { ...theirs, _deleted: true },
      })._deleted,
    ).toBe(true);
  });

  it('ignores RxDB internals in the merge and in equality', () => {
    const mine = { ...base, _rev: '3-x', _meta: { lwt: 1 }, _attachments: {} } as WireDoc<ExpenseDoc>;
    const merged = mergeDocumentConflict(expenses, {
      newDocumentState: mine,
      assumedMasterState: base,
      realMasterState: base,
    });
    expect(merged).toEqual(base);
    expect(documentsEqual(mine, base)).toBe(true);
    expect(documentsEqual(base, { ...base, serverUpdatedAt: 101 })).toBe(false);
    expect(documentsEqual(base, { ...base, _deleted: true })).toBe(false);
    expect(documentsEqual(base, { ...base, rejectionReason: undefined })).toBe(true);
  });

  it('property: server-owned fields from the server; device-only edits kept; other fields the server’s', () => {
    const text = fc.string({ maxLength: 4 });
    const side = fc.record({ description: text, category: text, amount: fc.nat(10) });
    fc.assert(
      fc.property(side, side, fc.nat(), (mineEdit, theirsEdit, stamp) => {
        const mine = { ...base, ...mineEdit, serverUpdatedAt: 1 };
        const theirs = { ...base, ...theirsEdit, serverUpdatedAt: stamp };
        const merged = mergeDocumentConflict(expenses, {
          newDocumentState: mine,
          assumedMasterState: base,
          realMasterState: theirs,
        });
        expect(merged.serverUpdatedAt).toBe(stamp);
        for (const field of ['description', 'category', 'amount'] as const) {
          const onlyMine = mine[field] !== base[field] && theirs[field] === base[field];
          expect(merged[field]).toBe(onlyMine ? mine[field] : theirs[field]);
        }
        // Merging again against the merge's own base changes nothing (the re-push converges).
        expect(
          documentsEqual(
            mergeDocumentConflict(expenses, {
              newDocumentState: merged,
              assumedMasterState: merged,
              realMasterState: merged,
            }),
            merged,
          ),
        ).toBe(true);
      }),
    );
  });
});
