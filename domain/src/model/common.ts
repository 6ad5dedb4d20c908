/**
 * Building blocks shared by the collection schemas. Every collection is an RxDB JSON Schema
 * (`version`, `primaryKey: 'id'`, string fields with `maxLength` so they can be indexed) and the
 * server validates every pushed document against the same schema (ajv, as validate.ts does for cases).
 */
export const ID_MAX = 64;

export const idField = { type: 'string', minLength: 1, maxLength: ID_MAX } as const;
export const nullableId = { type: ['string', 'null'], maxLength: ID_MAX } as const;
export const isoDate = { type: 'string', format: 'date-time', maxLength: 40 } as const;
export const nullableIsoDate = { type: ['string', 'null'], maxLength: 40 } as const;
export const text = (maxLength: number, minLength = 0) => ({ type: 'string', minLength, maxLength }) as const;
export const nullableText = (maxLength: number) => ({ type: ['string', 'null'], maxLength }) as const;
export const localized = (maxLength: number) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: { fa: text(maxLength), en: text(maxLength) },
    required: ['fa', 'en'],
  }) as const;
export const enumOf = <T extends readonly string[]>(values: T, maxLength = 32) =>
  ({ type: 'string', enum: [...values], maxLength }) as const;

/** The server's stamp (ms, strictly increasing per write transaction): the pull checkpoint. */
export const serverUpdatedAtField = { type: ['number', 'null'], minimum: 0 } as const;

/** Fields every non-case collection has; `serverUpdatedAt` is server-owned everywhere. */
export const BASE_SERVER_OWNED = ['serverUpdatedAt'] as const;

export interface BaseDoc {
  id: string;
  /** Client clock, ISO 8601: last edit on a device (or on the server for server-written records). */
  updatedAt: string;
  serverUpdatedAt?: number | null;
}

/** An RxDB migration strategy: turns a document of version n-1 into version n (pure). */
export type MigrationStrategy = (oldDoc: Record<string, unknown>) => Record<string, unknown> | null;

/** Runs the strategies from `fromVersion` up to `toVersion`, as RxDB does for a stored document. */
export function migrateDocument(
  strategies: Readonly<Record<number, MigrationStrategy>>,
  doc: Record<string, unknown>,
  fromVersion: number,
  toVersion: number,
): Record<string, unknown> | null {
  let current: Record<string, unknown> | null = doc;
  for (let version = fromVersion + 1; version <= toVersion && current; version++) {
    const step = strategies[version];
    if (!step) throw new Error(`no migration strategy to version ${version}`);
    current = step(current);
  }
  return current;
}
