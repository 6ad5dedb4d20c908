/**
 * Which collections keep attachment bytes on the device. A collection whose document schema has an
 * `attachments` property (AttachmentRefs, domain/src/model/attachments.ts) gets RxDB's `attachments`
 * option, so the bytes live beside the document in the same IndexedDB database (RxDB attachments).
 * Every such collection is handled the same way; none is named here.
 */
import type { RxJsonSchema } from 'rxdb';

interface SchemaWithProperties {
  properties: Record<string, unknown>;
}

/** True when documents of this schema list attachments (and so keep their bytes on the device). */
export function hasAttachmentRefs(schema: SchemaWithProperties): boolean {
  return Object.hasOwn(schema.properties, 'attachments');
}

/**
 * The RxDB schema with attachment storage switched on when its documents list attachments; other
 * schemas come back unchanged (adding `attachments` changes RxDB's schema hash, so it must only
 * happen together with a schema version bump — expenses v2, diagnostics v1, case_events' own).
 */
export function withAttachmentStorage<T>(schema: T): T {
  const s = schema as unknown as SchemaWithProperties & { attachments?: unknown };
  if (!hasAttachmentRefs(s) || s.attachments) return schema;
  return { ...s, attachments: {} } as unknown as T;
}

/** `withAttachmentStorage` for a domain schema handed to RxDB. */
export function rxSchemaWithAttachments<D>(schema: unknown): RxJsonSchema<D> {
  return withAttachmentStorage(schema) as RxJsonSchema<D>;
}
