/**
 * reference: every read-only list a client caches — case templates, teams, branches, regions,
 * expense categories, device models, SLA calendars and holidays — in one collection with a `kind`
 * (the free RxDB allows 13 collections; one per list would spend seven). `data` holds the record of
 * its kind as the server defines it (see fixtures/ for the shapes).
 */
import {
  BASE_SERVER_OWNED,
  idField,
  isoDate,
  localized,
  enumOf,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';

export const REFERENCE_KINDS = [
  'template',
  'team',
  'branch',
  'region',
  'expense_category',
  'device_model',
  'calendar',
  'holiday',
] as const;
export type ReferenceKind = (typeof REFERENCE_KINDS)[number];

export interface ReferenceDoc extends BaseDoc {
  kind: ReferenceKind;
  name: { fa: string; en: string };
  data: Record<string, unknown>;
}

export const referenceJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    kind: enumOf(REFERENCE_KINDS, 20),
    name: localized(200),
    data: { type: 'object' },
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
  },
  required: ['id', 'kind', 'name', 'data', 'updatedAt'],
} as const;

export const referenceRxSchema = {
  title: 'reference',
  version: 0,
  primaryKey: 'id',
  ...referenceJsonSchema,
  indexes: ['kind'],
} as const;

export const REFERENCE_SERVER_OWNED_FIELDS = BASE_SERVER_OWNED;
export const referenceMigrationStrategies: Record<number, MigrationStrategy> = {};
