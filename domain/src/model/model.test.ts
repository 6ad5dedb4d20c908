import { describe, expect, it } from 'vitest';
import { REPLICATED_COLLECTIONS } from '../replication.ts';
import { validateCollectionDocument } from '../validate.ts';
import {
  COLLECTION_NAMES,
  COLLECTIONS,
  migrateDocument,
  validationSchemaOf,
  type CollectionName,
  type CollectionSpec,
} from './index.ts';

describe('document model registry', () => {
  it('stays within the free RxDB limit and matches the replicated collections', () => {
    expect(COLLECTION_NAMES.length).toBeLessThanOrEqual(12);
    expect([...COLLECTION_NAMES].sort()).toEqual([...REPLICATED_COLLECTIONS].sort());
  });

  it.each(COLLECTION_NAMES)(
    '%s: an RxDB-compatible schema (id key, indexed fields bounded and required)',
    (name) => {
      const { schema, serverOwnedFields } = COLLECTIONS[name];
      expect(schema.title).toBe(name);
      expect(schema.primaryKey).toBe('id');
      const props = schema.properties as Record<string, { type?: unknown; maxLength?: number }>;
      expect(props.id?.maxLength).toBeGreaterThan(0);
      for (const index of schema.indexes ?? []) {
        for (const field of typeof index === 'string' ? [index] : index) {
          const prop = props[field];
          expect(prop, `${name}.${field}`).toBeDefined();
          if (prop?.type === 'string')
            expect(prop.maxLength, `${name}.${field} maxLength`).toBeGreaterThan(0);
          expect(schema.required, `${name}.${field} required`).toContain(field);
        }
      }
      for (const field of serverOwnedFields) expect(Object.keys(props)).toContain(field);
      // RxDB needs a strategy for every version above 0.
      for (let v = 1; v <= schema.version; v++)
        expect((COLLECTIONS[name] as CollectionSpec).migrationStrategies[v]).toBeTypeOf('function');
      expect(validationSchemaOf(name as CollectionName)).not.toHaveProperty('primaryKey');
    },
  );

  it('refuses unknown fields and wrong types in every collection', () => {
    for (const name of COLLECTION_NAMES) {
      const result = validateCollectionDocument(name, { id: 'x', sneaky: 1 });
      expect(result.ok, name).toBe(false);
    }
  });
});

describe('expenses migrations (v0 → v1)', () => {
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

  it('turns a stored v0 document into a valid current one', () => {
    const migrated = migrateDocument(
      COLLECTIONS.expenses.migrationStrategies,
      v0,
      0,
      COLLECTIONS.expenses.schema.version,
    );
    expect(migrated).toMatchObject({ currency: 'IRR', hasReceipt: true });
    expect(migrated).not.toHaveProperty('receipt');
    expect(validateCollectionDocument('expenses', migrated)).toEqual({ ok: true });
    // The v0 document itself is not valid under v1.
    expect(validateCollectionDocument('expenses', v0).ok).toBe(false);
  });

  it('reads a missing receipt flag as no receipt', () => {
    const { receipt: _r, ...noReceipt } = v0;
    expect(migrateDocument(COLLECTIONS.expenses.migrationStrategies, noReceipt, 0, 1)).toMatchObject({
      hasReceipt: false,
    });
  });
});
