/**
 * RxDB schema migrations of the collections that gained attachments, on real stored data: a
 * database written by an older build (expenses v0 and v1, diagnostics v0, no attachment storage)
 * is opened by this build; every document is migrated (domain strategies) and can take attachments.
 */
import {
  diagnosticJsonSchema,
  diagnosticMigrationStrategies,
  diagnosticRxSchema,
  expenseJsonSchema,
  expenseMigrationStrategies,
  expenseRxSchema,
} from '@emdad/domain/model/index';
import { addRxPlugin, createRxDatabase, type RxCollection, type RxDatabase } from 'rxdb';
import { RxDBMigrationSchemaPlugin } from 'rxdb/plugins/migration-schema';
import { describe, expect, it } from 'vitest';
import '../db/database.ts';
import { testStorage, uniqueName } from '../test-support/rx.ts';
import { createAttachmentService } from './attachment-service.ts';
import { rxSchemaWithAttachments } from './rxdb.ts';

addRxPlugin(RxDBMigrationSchemaPlugin);

type Props = Record<string, unknown>;
const without = (props: Props, ...names: string[]) =>
  Object.fromEntries(Object.entries(props).filter(([k]) => !names.includes(k)));

/** expenses as build v0 stored them: `receipt` flag, no currency. */
const expenseV0 = {
  title: 'expenses',
  version: 0,
  primaryKey: 'id',
  type: 'object',
  additionalProperties: false,
  properties: {
    ...without(expenseJsonSchema.properties, 'currency', 'hasReceipt', 'attachments'),
    receipt: { type: 'boolean' },
  },
  required: expenseJsonSchema.required.filter((f) => f !== 'currency' && f !== 'hasReceipt'),
  indexes: ['createdAt'],
};
/** expenses v1: currency and hasReceipt, no attachments. */
const expenseV1 = {
  ...expenseV0,
  version: 1,
  properties: without(expenseJsonSchema.properties, 'attachments'),
  required: [...expenseJsonSchema.required],
};
const diagnosticV0 = {
  ...diagnosticRxSchema,
  version: 0,
  properties: without(diagnosticJsonSchema.properties, 'attachments'),
};

const at = '2026-11-20T08:00:00.000Z';
const expenseFields = {
  missionId: null,
  submitterId: 'usr-tech1',
  category: 'transport',
  amount: 1_200_000,
  description: 'Taxi',
  status: 'draft',
  submittedAt: null,
  decidedBy: null,
  decidedAt: null,
  rejectionReason: null,
  createdAt: at,
  updatedAt: at,
};

async function open(name: string, collections: Record<string, unknown>): Promise<RxDatabase> {
  const db = await createRxDatabase({
    name,
    storage: testStorage(),
    localDocuments: true,
    multiInstance: false,
  });
  await db.addCollections(collections as never);
  return db;
}

describe('attachment schema migrations on stored data', () => {
  it('expenses v0 → v2 and diagnostics v0 → v1: documents kept, attachments empty, attachable', async () => {
    const name = uniqueName('emdad-att-migrate');
    const old = await open(name, { expenses: { schema: expenseV0 }, diagnostics: { schema: diagnosticV0 } });
    await old.expenses!.insert({ id: 'exp-old', ...expenseFields, receipt: true });
    await old.diagnostics!.insert({
      id: 'dia-old',
      caseId: null,
      equipmentId: null,
      technicianId: 'usr-tech1',
      device: { kind: 'pinpad', model: 'PPC930', serial: null },
      startedAt: at,
      finishedAt: at,
      outcome: 'passed',
      steps: [],
      rawFrames: [{ at, direction: 'tx', hex: '02' }],
      createdAt: at,
      updatedAt: at,
    });
    await old.close();

    const current = await open(name, {
      expenses: {
        schema: rxSchemaWithAttachments(expenseRxSchema),
        migrationStrategies: expenseMigrationStrategies,
      },
      diagnostics: {
        schema: rxSchemaWithAttachments(diagnosticRxSchema),
        migrationStrategies: diagnosticMigrationStrategies,
      },
    });
    const expenses = current.expenses as RxCollection;
    const diagnostics = current.diagnostics as RxCollection;
    const expense = (await expenses.findOne('exp-old').exec())!.toJSON();
    expect(expense).toMatchObject({ currency: 'IRR', hasReceipt: true, attachments: [] });
    expect(expense).not.toHaveProperty('receipt');
    const diagnostic = (await diagnostics.findOne('dia-old').exec())!.toJSON();
    expect(diagnostic).toMatchObject({ attachments: [], rawFrames: [{ hex: '02' }] });

    const service = createAttachmentService({ db: current, transport: null });
    const log = new TextEncoder().encode('raw ABECS session');
    const ref = await service.attach('diagnostics', 'dia-old', {
      name: 'session.log',
      type: 'text/plain',
      size: log.byteLength,
      arrayBuffer: async () => log.slice().buffer,
    });
    expect((await diagnostics.findOne('dia-old').exec())!.get('attachments')).toEqual([ref]);
    await current.close();
  });

  it('expenses v1 → v2', async () => {
    const name = uniqueName('emdad-att-migrate-v1');
    const old = await open(name, {
      expenses: { schema: expenseV1, migrationStrategies: expenseMigrationStrategies },
    });
    await old.expenses!.insert({ id: 'exp-v1', ...expenseFields, currency: 'IRR', hasReceipt: false });
    await old.close();
    const current = await open(name, {
      expenses: {
        schema: rxSchemaWithAttachments(expenseRxSchema),
        migrationStrategies: expenseMigrationStrategies,
      },
    });
    expect((await current.expenses!.findOne('exp-v1').exec())!.toJSON()).toMatchObject({
      hasReceipt: false,
      attachments: [],
    });
    await current.close();
  });
});
