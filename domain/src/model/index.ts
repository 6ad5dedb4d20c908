/**
 * The document model registry: every replicated collection (at most 12: the free RxDB allows 13
 * per process) with its RxDB schema, server-owned fields, approval fields, client migration
 * strategies and whether clients may push to it. The server validates and routes by this table;
 * the renderer creates its RxDB collections from it.
 */
import { CASE_SERVER_OWNED_FIELDS, caseMigrationStrategies, caseRxSchema } from '../case.ts';
import {
  caseEventRxSchema,
  CASE_EVENT_SERVER_OWNED_FIELDS,
  caseEventMigrationStrategies,
} from './case-events.ts';
import type { MigrationStrategy } from './common.ts';
import {
  diagnosticRxSchema,
  DIAGNOSTIC_SERVER_OWNED_FIELDS,
  diagnosticMigrationStrategies,
} from './diagnostics.ts';
import {
  equipmentRxSchema,
  EQUIPMENT_SERVER_OWNED_FIELDS,
  equipmentMigrationStrategies,
} from './equipment.ts';
import {
  EXPENSE_APPROVAL_FIELDS,
  EXPENSE_SERVER_OWNED_FIELDS,
  expenseMigrationStrategies,
  expenseRxSchema,
} from './expenses.ts';
import {
  kbArticleRxSchema,
  KB_ARTICLE_SERVER_OWNED_FIELDS,
  kbArticleMigrationStrategies,
} from './kb-articles.ts';
import { merchantRxSchema, MERCHANT_SERVER_OWNED_FIELDS, merchantMigrationStrategies } from './merchants.ts';
import {
  MISSION_APPROVAL_FIELDS,
  MISSION_SERVER_OWNED_FIELDS,
  missionMigrationStrategies,
  missionRxSchema,
} from './missions.ts';
import {
  notificationRxSchema,
  NOTIFICATION_SERVER_OWNED_FIELDS,
  notificationMigrationStrategies,
} from './notifications.ts';
import {
  referenceRxSchema,
  REFERENCE_SERVER_OWNED_FIELDS,
  referenceMigrationStrategies,
} from './reference.ts';
import { surveyRxSchema, SURVEY_SERVER_OWNED_FIELDS, surveyMigrationStrategies } from './surveys.ts';

export * from './common.ts';
export * from './attachments.ts';
export * from './case-events.ts';
export * from './diagnostics.ts';
export * from './equipment.ts';
export * from './expenses.ts';
export * from './kb-articles.ts';
export * from './merchants.ts';
export * from './missions.ts';
export * from './notifications.ts';
export * from './reference.ts';
export * from './surveys.ts';

export interface RxSchemaLike {
  title: string;
  version: number;
  primaryKey: string;
  type: 'object';
  properties: Record<string, unknown>;
  required: readonly string[];
  indexes?: readonly (string | readonly string[])[];
  additionalProperties?: boolean;
}

export interface CollectionSpec {
  schema: RxSchemaLike;
  /** Fields only the server sets; a push that sets them to another value is refused. */
  serverOwnedFields: readonly string[];
  /** Fields only a supervisor or admin may set (and never on their own record). */
  approvalFields: readonly string[];
  /** False: the collection is read-only on clients and every push to it is refused. */
  clientWritable: boolean;
  migrationStrategies: Readonly<Record<number, MigrationStrategy>>;
}

export const COLLECTIONS = {
  cases: {
    schema: caseRxSchema,
    serverOwnedFields: CASE_SERVER_OWNED_FIELDS,
    approvalFields: [],
    clientWritable: true,
    migrationStrategies: caseMigrationStrategies,
  },
  case_events: {
    schema: caseEventRxSchema,
    serverOwnedFields: CASE_EVENT_SERVER_OWNED_FIELDS,
    approvalFields: [],
    clientWritable: true,
    migrationStrategies: caseEventMigrationStrategies,
  },
  diagnostics: {
    schema: diagnosticRxSchema,
    serverOwnedFields: DIAGNOSTIC_SERVER_OWNED_FIELDS,
    approvalFields: [],
    clientWritable: true,
    migrationStrategies: diagnosticMigrationStrategies,
  },
  equipment: {
    schema: equipmentRxSchema,
    serverOwnedFields: EQUIPMENT_SERVER_OWNED_FIELDS,
    approvalFields: [],
    clientWritable: true,
    migrationStrategies: equipmentMigrationStrategies,
  },
  merchants: {
    schema: merchantRxSchema,
    serverOwnedFields: MERCHANT_SERVER_OWNED_FIELDS,
    approvalFields: [],
    clientWritable: true,
    migrationStrategies: merchantMigrationStrategies,
  },
  kb_articles: {
    schema: kbArticleRxSchema,
    serverOwnedFields: KB_ARTICLE_SERVER_OWNED_FIELDS,
    approvalFields: [],
    clientWritable: true,
    migrationStrategies: kbArticleMigrationStrategies,
  },
  missions: {
    schema: missionRxSchema,
    serverOwnedFields: MISSION_SERVER_OWNED_FIELDS,
    approvalFields: MISSION_APPROVAL_FIELDS,
    clientWritable: true,
    migrationStrategies: missionMigrationStrategies,
  },
  expenses: {
    schema: expenseRxSchema,
    serverOwnedFields: EXPENSE_SERVER_OWNED_FIELDS,
    approvalFields: EXPENSE_APPROVAL_FIELDS,
    clientWritable: true,
    migrationStrategies: expenseMigrationStrategies,
  },
  surveys: {
    schema: surveyRxSchema,
    serverOwnedFields: SURVEY_SERVER_OWNED_FIELDS,
    approvalFields: [],
    clientWritable: true,
    migrationStrategies: surveyMigrationStrategies,
  },
  reference: {
    schema: referenceRxSchema,
    serverOwnedFields: REFERENCE_SERVER_OWNED_FIELDS,
    approvalFields: [],
    clientWritable: false,
    migrationStrategies: referenceMigrationStrategies,
  },
  notifications: {
    schema: notificationRxSchema,
    serverOwnedFields: NOTIFICATION_SERVER_OWNED_FIELDS,
    approvalFields: [],
    clientWritable: true,
    migrationStrategies: notificationMigrationStrategies,
  },
} as const satisfies Record<string, CollectionSpec>;

export type CollectionName = keyof typeof COLLECTIONS;
export const COLLECTION_NAMES = Object.keys(COLLECTIONS) as CollectionName[];

/**
 * Collections whose stored documents never change on a client's say: the server refuses any change
 * to a saved timeline entry (sync-server/src/replication/rules.ts, `append_only`), so in a conflict
 * the server's version is the only one that can stand.
 */
export const APPEND_ONLY_COLLECTIONS: ReadonlySet<CollectionName> = new Set(['case_events']);

/** What the generic conflict merge (conflict.ts mergeDocumentConflict) knows of a collection. */
export function mergeSpecOf(name: CollectionName): {
  serverOwnedFields: readonly string[];
  clientWritable: boolean;
  appendOnly: boolean;
} {
  const spec = COLLECTIONS[name];
  return {
    serverOwnedFields: spec.serverOwnedFields,
    clientWritable: spec.clientWritable,
    appendOnly: APPEND_ONLY_COLLECTIONS.has(name),
  };
}

export function isCollectionName(value: unknown): value is CollectionName {
  return typeof value === 'string' && Object.hasOwn(COLLECTIONS, value);
}

export function collectionSpec(name: CollectionName): CollectionSpec {
  return COLLECTIONS[name];
}

/** The schema without RxDB's `version`/`primaryKey`/`indexes`/`title`: what ajv validates. */
export function validationSchemaOf(name: CollectionName): Record<string, unknown> {
  const {
    title: _title,
    version: _version,
    primaryKey: _primaryKey,
    indexes: _indexes,
    ...rest
  } = COLLECTIONS[name].schema as RxSchemaLike & Record<string, unknown>;
  return rest;
}
