/**
 * The two local databases of one install (browser profile or Electron app data dir):
 * - the device database holds what belongs to the install: its id and tracking prefix, the per-install
 *   tracking sequence, the current session and the offline login verifiers (local documents only);
 * - one user database per signed-in user holds that user's replicated collections (every one of the
 *   registry, domain/src/model/index.ts) and the cached reference data. Keeping users apart means a second person on a shared branch
 *   computer never sees or pushes the first person's unsynced cases under their own account.
 */
import {
  addRxPlugin,
  createRxDatabase,
  type RxCollection,
  type RxConflictHandler,
  type RxDatabase,
  type RxStorage,
} from 'rxdb';
import { RxDBLocalDocumentsPlugin } from 'rxdb/plugins/local-documents';
import { RxDBMigrationSchemaPlugin } from 'rxdb/plugins/migration-schema';
import {
  CASE_SERVER_OWNED_FIELDS,
  casesEqual,
  documentsEqual,
  mergeCaseConflict,
  mergeDocumentConflict,
  type CaseDoc,
} from '@emdad/domain';
import {
  COLLECTIONS,
  COLLECTION_NAMES,
  mergeSpecOf,
  type CaseEventDoc,
  type CollectionName,
  type DiagnosticDoc,
  type EquipmentDoc,
  type ExpenseDoc,
  type KbArticleDoc,
  type MerchantDoc,
  type MissionDoc,
  type NotificationDoc,
  type ReferenceDoc,
  type SurveyDoc,
} from '@emdad/domain/model/index';
import { getRxStorageDexieFastRead } from './dexie-storage.ts';
// RxDB's attachments plugin and the one keeping referenced bytes through pulls (attachments/rxdb.ts).
// A collection whose schema lists `attachments` (expenses, diagnostics, case_events) is created
// with `rxSchemaWithAttachments(schema)` from there, so its bytes are kept beside its documents.
import { rxSchemaWithAttachments } from '../attachments/rxdb.ts';

addRxPlugin(RxDBLocalDocumentsPlugin);
// Stored documents of an older schema version are migrated in place (domain strategies), so records
// created offline under an older build are kept and still pushed.
addRxPlugin(RxDBMigrationSchemaPlugin);

export type CaseCollection = RxCollection<CaseDoc>;

/** Every replicated collection of the registry (domain/src/model/index.ts), typed by its document. */
export interface UserCollections {
  cases: CaseCollection;
  case_events: RxCollection<CaseEventDoc>;
  diagnostics: RxCollection<DiagnosticDoc>;
  equipment: RxCollection<EquipmentDoc>;
  merchants: RxCollection<MerchantDoc>;
  kb_articles: RxCollection<KbArticleDoc>;
  missions: RxCollection<MissionDoc>;
  expenses: RxCollection<ExpenseDoc>;
  surveys: RxCollection<SurveyDoc>;
  reference: RxCollection<ReferenceDoc>;
  notifications: RxCollection<NotificationDoc>;
}
// A collection added to the registry must be added here too (and the other way round).
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : never;
const collectionsMatchRegistry: SameKeys<UserCollections, typeof COLLECTIONS> = true;
void collectionsMatchRegistry;

export type UserDatabase = RxDatabase<UserCollections>;
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

/**
 * The conflict handler of every collection but cases: equality over every field (server-owned ones
 * too, so the server's decisions reach the local copy), the domain's three-way field merge.
 */
export function documentConflictHandler<T>(name: CollectionName): RxConflictHandler<T> {
  const spec = mergeSpecOf(name);
  return {
    isEqual: (a, b) => documentsEqual(a, b),
    resolve: async (input) =>
      mergeDocumentConflict<T>(spec, {
        newDocumentState: input.newDocumentState,
        assumedMasterState: input.assumedMasterState,
        realMasterState: input.realMasterState,
      }),
  };
}

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

/**
 * One collection's RxDB creator: its schema (with attachment storage when its documents list
 * attachments), the registry's migration strategies and its conflict handler.
 */
function collectionCreator(name: CollectionName) {
  const spec = COLLECTIONS[name];
  return {
    schema: rxSchemaWithAttachments<unknown>(spec.schema),
    migrationStrategies: spec.migrationStrategies,
    conflictHandler: name === 'cases' ? caseConflictHandler : documentConflictHandler<unknown>(name),
  };
}

export interface OpenUserDatabaseOptions {
  /**
   * Only these collections (default: every one of the registry). The free RxDB allows 13 open
   * collections per JavaScript process, so tests that run several devices in one process give each
   * only what it uses; the app opens one user database at a time with all of them.
   */
  collections?: readonly CollectionName[];
}

/**
 * Opens (creating if needed) the user's database with every replicated collection (or those of
 * `options.collections`: the others are then absent at run time, whatever the type says).
 */
export async function openUserDatabase(
  userId: string,
  storage: AnyRxStorage = defaultStorage(),
  name = userDatabaseName(userId),
  options: OpenUserDatabaseOptions = {},
): Promise<UserDatabase> {
  const db = await createRxDatabase<UserCollections>({
    name,
    storage,
    localDocuments: true,
    multiInstance: true,
    closeDuplicates: true,
  });
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each creator is typed by its collection below
    const creators: Record<string, any> = {};
    for (const collection of options.collections ?? COLLECTION_NAMES)
      creators[collection] = collectionCreator(collection);
    await db.addCollections(creators as Parameters<UserDatabase['addCollections']>[0]);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
