/**
 * A user database written by a build with cases schema v0 opens under v1 with its cases kept and
 * migrated (an unsynced offline case must never be lost to a schema bump).
 */
import { createRxDatabase, type RxJsonSchema } from 'rxdb';
import { caseRxSchema, type CaseDoc } from '@emdad/domain';
import { describe, expect, it } from 'vitest';
import { openUserDatabase } from './database.ts';
import { testStorage, uniqueName } from '../test-support/rx.ts';

const at = '2026-11-23T08:00:00.000Z';

/** The v0 schema as it shipped: the v1 schema without the v1 fields, and the v0 `sla`. */
function schemaV0(): RxJsonSchema<CaseDoc> {
  const {
    teamId: _t,
    supportTier: _s,
    possibleDuplicateOf: _p,
    sla: _sla,
    ...properties
  } = caseRxSchema.properties;
  return {
    ...caseRxSchema,
    version: 0,
    properties: {
      ...properties,
      sla: {
        type: ['object', 'null'],
        additionalProperties: false,
        properties: {
          firstResponseDueAt: { type: ['string', 'null'], maxLength: 40 },
          resolutionDueAt: { type: ['string', 'null'], maxLength: 40 },
          state: { type: ['string', 'null'], enum: ['on_track', 'warning', 'breached', 'paused', null] },
        },
      },
    },
  } as unknown as RxJsonSchema<CaseDoc>;
}

describe('cases v0 → v1 in the renderer database', () => {
  it('keeps an unsynced v0 case and migrates its sla', async () => {
    const storage = testStorage();
    const name = uniqueName('emdad-user-migration');
    const old = await createRxDatabase({ name, storage, localDocuments: true });
    await old.addCollections({ cases: { schema: schemaV0() } });
    await old.cases!.insert({
      id: 'case-offline',
      trackingCode: 'AAA-1405-000001-7',
      templateId: 'tpl-pos-no-print',
      channel: 'walk_in',
      status: 'new',
      priority: 'high',
      merchantId: 'mer-001',
      equipmentId: 'eq-001-pos',
      branchId: 'br-tehran-vanak',
      subject: 'POS does not print',
      description: '',
      reporterName: 'Mohammadi',
      reporterPhone: '09121234567',
      createdBy: 'usr-branch1',
      assigneeId: null,
      createdAt: at,
      updatedAt: at,
      serverUpdatedAt: null,
      acknowledgedUpdatedAt: null,
      sla: { firstResponseDueAt: at, resolutionDueAt: null, state: 'on_track' },
    });
    await old.close();

    const db = await openUserDatabase('usr-branch1', storage, name);
    try {
      const doc = await db.cases.findOne('case-offline').exec();
      expect(doc?.toJSON()).toMatchObject({
        subject: 'POS does not print',
        acknowledgedUpdatedAt: null,
        teamId: null,
        supportTier: null,
        possibleDuplicateOf: null,
        sla: { firstResponseDueAt: at, state: 'on_track', paused: false, updateDueAt: null, targets: null },
      });
    } finally {
      await db.close();
    }
  });
});
