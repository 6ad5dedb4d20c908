/**
 * The two local databases of one install (browser profile or Electron app data dir):
 * - the device database holds what belongs to the install: its id and tracking prefix, the per-install
 *   tracking sequence, the current session and the offline login verifiers (local documents only);
 * - one user database per signed-in user holds that user's cases (the replicated collection) and
 *   the cached reference data. Keeping users apart means a second person on a shared branch
 *   computer never sees or pushes the first person's unsynced cases under their own account.
 */
import {
  addRxPlugin,
  createRxDatabase,
  type RxCollection,
  type RxDatabase,
  type RxJsonSchema,
  type RxStorage,
} from 'rxdb';
import { RxDBLocalDocumentsPlugin } from 'rxdb/plugins/local-documents';
import { RxDBMigrationSchemaPlugin } from 'rxdb/plugins/migration-schema';
import {
  CASE_SERVER_OWNED_FIELDS,
  caseMigrationStrategies,
  caseRxSchema,
  casesEqual,
  mergeCaseConflict,
  type CaseDoc,
} from '@emdad/domain';
import type { RxConflictHandler } from 'rxdb';
import { getRxStorageDexieFastRead } from './dexie-storage.ts';
// RxDB's attachments plugin and the one keeping referenced bytes through pulls (attachments/rxdb.ts).
// A collection whose schema lists `attachments` (expenses, diagnostics, case_events) must be created
// with `rxSchemaWithAttachments(schema)` from there, so its bytes are kept beside its documents.
import '../attachments/rxdb.ts';

addRxPlugin(RxDBLocalDocumentsPlugin);
// Stored documents of an older schema version are migrated in place (domain strategies), so cases
// created offline under an older build are kept and still pushed.
addRxPlugin(RxDBMigrationSchemaPlugin);

export type CaseCollection = RxCollection<CaseDoc>;
export type UserDatabase = RxDatabase<{ cases: CaseCollection }>;
export type DeviceDatabase = RxDatabase;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- RxDB's storage generics are not needed here
export type AnyRxStorage = RxStorage<any, any>;

function serverFieldsEqual(a: Partial<CaseDoc>, b: Partial<CaseDoc>): boolean {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const field of CASE_SERVER_OWNED_FIELDS) {
    const x = ra[field] ?? null;
    const y = rb[field] ?? null;
    // RxDB calls isEqual per pulled document: identical values and two different strings
    // (acknowledgedUpdatedAt) answer without JSON; `sla` and anything else compare as JSON.
    if (x === y) continue;
    if (typeof x === 'string' && typeof y === 'string') return false;
    if (JSON.stringify(x) !== JSON.stringify(y)) return false;
  }
  return true;
}

/**
 * RxDB's conflict handler from the domain's merge rule (domain/src/conflict.ts).
 * `isEqual` also compares the server-owned fields: RxDB's downstream skips writing a pulled
 * document whose state it considers equal to the local one, and the server's acknowledgement
 * (`acknowledgedUpdatedAt`, which drives the "synced" badge) lives only in those fields. With
 * client fields alone the acknowledgement would never reach the local document.
 */
export const caseConflictHandler: RxConflictHandler<CaseDoc> = {
  isEqual: (a, b) => casesEqual(a, b) && serverFieldsEqual(a, b),
  resolve: async (input) =>
    mergeCaseConflict({
      newDocumentState: input.newDocumentState,
      assumedMasterState: input.assumedMasterState,
      realMasterState: input.realMasterState,
    }),
};

/** RxDB's Dexie storage, reading by id only what exists (see dexie-storage.ts). */
export function defaultStorage(): AnyRxStorage {
  return getRxStorageDexieFastRead();
}

export const DEVICE_DATABASE_NAME = 'emdad-device';

export async function openDeviceDatabase(
  storage: AnyRxStorage = defaultStorage(),
  name = DEVICE_DATABASE_NAME,
): Promise<DeviceDatabase> {
  return createRxDatabase({
    name,
    storage,
    localDocuments: true,
    multiInstance: true,
    closeDuplicates: true,
  });
}

/** Database names allow lower-case letters, digits and a few signs; user ids are UUIDs or slugs. */
export function userDatabaseName(userId: string): string {
  return `emdad-user-${userId.toLowerCase().replace(/[^a-z0-9]/g, '')}`;
}

export async function openUserDatabase(
  userId: string,
  storage: AnyRxStorage = defaultStorage(),
  name = userDatabaseName(userId),
): Promise<UserDatabase> {
  const db = await createRxDatabase<{ cases: CaseCollection }>({
    name,
    storage,
    localDocuments: true,
    multiInstance: true,
    closeDuplicates: true,
  });
  await db.addCollections({
    cases: {
      schema: caseRxSchema as unknown as RxJsonSchema<CaseDoc>,
      migrationStrategies: caseMigrationStrategies,
      conflictHandler: caseConflictHandler,
    },
  });
  return db;
}
