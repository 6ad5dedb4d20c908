import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { CaseDoc } from './case.ts';
import { casesEqual, mergeCaseConflict } from './conflict.ts';
import type { WireDoc } from './replication.ts';

const base: WireDoc<CaseDoc> = {
  id: '0190a0b0-0000-7000-8000-000000000001',
  trackingCode: 'K7Q-1405-000001-X',
  templateId: 'tpl-pos-no-print',
  channel: 'walk_in',
  status: 'new',
  priority: 'normal',
  merchantId: 'm-01',
  equipmentId: null,
  branchId: 'br-thr',
  subject: 'POS does not print',
  description: '',
  reporterName: 'Ali',
  reporterPhone: '09120000000',
  createdBy: 'u-branch1',
  assigneeId: null,
  createdAt: '2026-11-23T08:00:00.000Z',
  updatedAt: '2026-11-23T08:00:00.000Z',
  serverUpdatedAt: 100,
  acknowledgedUpdatedAt: '2026-11-23T08:00:00.000Z',
  sla: null,
  _deleted: false,
};

describe('case conflict rule', () => {
  it('keeps fields only the client changed and fields only the server changed', () => {
    const mine = { ...base, description: 'paper jam', updatedAt: '2026-11-23T09:00:00.000Z' };
    const theirs = {
      ...base,
      priority: 'high' as const,
      serverUpdatedAt: 200,
      updatedAt: '2026-11-23T08:30:00.000Z',
      acknowledgedUpdatedAt: '2026-11-23T08:30:00.000Z',
    };
    const merged = mergeCaseConflict({
      newDocumentState: mine,
      assumedMasterState: base,
      realMasterState: theirs,
    });
    expect(merged.description).toBe('paper jam');
    expect(merged.priority).toBe('high');
    expect(merged.serverUpdatedAt).toBe(200);
    expect(merged.updatedAt).toBe('2026-11-23T09:00:00.000Z');
  });

  it('lets the server win a field both changed, and always for server-owned fields', () => {
    const mine = {
      ...base,
      subject: 'mine',
      serverUpdatedAt: 999,
      sla: { firstResponseDueAt: 'x', resolutionDueAt: null, state: null },
    };
    const theirs = { ...base, subject: 'theirs', serverUpdatedAt: 200 };
    const merged = mergeCaseConflict({
      newDocumentState: mine,
      assumedMasterState: base,
      realMasterState: theirs,
    });
    expect(merged.subject).toBe('theirs');
    expect(merged.serverUpdatedAt).toBe(200);
    expect(merged.sla).toBeNull();
  });

  it('does not produce an illegal status move', () => {
    const mine = { ...base, status: 'in_progress' as const };
    const theirs = { ...base, status: 'closed' as const, serverUpdatedAt: 200 };
    const merged = mergeCaseConflict({
      newDocumentState: mine,
      assumedMasterState: base,
      realMasterState: theirs,
    });
    expect(merged.status).toBe('closed');
  });

  it('compares client-visible content only', () => {
    expect(casesEqual(base, { ...base, serverUpdatedAt: 5 })).toBe(true);
    expect(casesEqual(base, { ...base, subject: 'other' })).toBe(false);
    expect(casesEqual(base, { ...base, _deleted: true })).toBe(false);
  });
});

describe('casesEqual fast paths', () => {
  // The rule before the fast paths: a field is unchanged when its JSON (undefined = null) is.
  const reference = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    Boolean(a._deleted) === Boolean(b._deleted) &&
    Object.keys(base)
      .filter((k) => !['serverUpdatedAt', 'acknowledgedUpdatedAt', 'sla', '_deleted'].includes(k))
      .every((k) => JSON.stringify(a[k] ?? null) === JSON.stringify(b[k] ?? null));
  const value = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.string({ maxLength: 3 }),
    fc.integer({ min: -2, max: 2 }),
    fc.constantFrom(NaN, Infinity, 0, -0),
    fc.boolean(),
    fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }),
    fc.dictionary(fc.constantFrom('a', 'b'), fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 1 }))),
  );

  it('answers exactly as comparing the JSON of every client field', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(base).filter((k) => k !== '_deleted')),
        value,
        value,
        (field, x, y) => {
          const a = { ...base, [field]: x } as unknown as WireDoc<CaseDoc>;
          const b = { ...base, [field]: y } as unknown as WireDoc<CaseDoc>;
          expect(casesEqual(a, b)).toBe(
            reference(a as unknown as Record<string, unknown>, b as unknown as Record<string, unknown>),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
