/**
 * Attachment bytes on the server: one `attachments` row per SHA-256 (PostgreSQL bytea, migration 6)
 * and one `attachment_uploads` row per user who sent them. Read access follows the documents: a
 * user may read an attachment when a document in their replication scope lists its hash in its
 * `attachments` field (every collection whose schema has that property, found in the registry), or
 * when they uploaded it themselves (before the document is pushed).
 */
import { createHash } from 'node:crypto';
import { COLLECTION_NAMES, COLLECTIONS, type CollectionName } from '@emdad/domain/model/index';
import type { Db, Queryable } from './db/index.ts';
import { caseScopeSql, documentScopeSql, SqlParams, type Scope } from './replication/scope.ts';

/** The collections whose documents carry attachment references (read from the schemas). */
export const ATTACHMENT_COLLECTIONS: readonly CollectionName[] = COLLECTION_NAMES.filter((name) =>
  Object.hasOwn(COLLECTIONS[name].schema.properties, 'attachments'),
);

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface StoreAttachmentInput {
  sha256: string;
  contentType: string;
  bytes: Uint8Array;
  userId: string;
  installId: string;
  at: number;
}

export interface StoredAttachmentInfo {
  sha256: string;
  contentType: string;
  size: number;
  /** True when this user had not sent these bytes before (the bytes may still have been stored by someone else). */
  firstFromThisUser: boolean;
}

/**
 * Stores the bytes once (a repeat of the same hash, by anyone, writes nothing) and records the user
 * as one of its uploaders. The caller has checked that `sha256` is the hash of `bytes`.
 */
export async function storeAttachment(db: Db, input: StoreAttachmentInput): Promise<StoredAttachmentInfo> {
  return await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO attachments (sha256, content_type, size, bytes, uploaded_by, uploaded_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING`,
      [input.sha256, input.contentType, input.bytes.byteLength, input.bytes, input.userId, input.at],
    );
    const recorded = await tx.query(
      `INSERT INTO attachment_uploads (sha256, user_id, install_id, uploaded_at)
     VALUES ($1, $2, $3, $4) ON CONFLICT (sha256, user_id) DO NOTHING RETURNING sha256`,
      [input.sha256, input.userId, input.installId, input.at],
    );
    const [row] = await tx.query<{ content_type: string; size: number }>(
      'SELECT content_type, size FROM attachments WHERE sha256 = $1',
      [input.sha256],
    );
    return {
      sha256: input.sha256,
      // The first upload's type is kept: the same bytes are the same file whatever a later client says.
      contentType: row?.content_type ?? input.contentType,
      size: Number(row?.size ?? input.bytes.byteLength),
      firstFromThisUser: recorded.length > 0,
    };
  });
}

/**
 * May this user read the attachment? Yes when they uploaded it, or when a document they may read
 * (the same scope SQL as pull and stream) lists the hash. Deleted documents grant nothing.
 */
export async function canReadAttachment(db: Queryable, scope: Scope, sha256: string): Promise<boolean> {
  const p = new SqlParams([sha256, scope.userId]);
  const ref = p.add(JSON.stringify([{ sha256 }]));
  const conditions = ['EXISTS (SELECT 1 FROM attachment_uploads u WHERE u.sha256 = $1 AND u.user_id = $2)'];
  for (const collection of ATTACHMENT_COLLECTIONS) {
    if (collection === 'cases') {
      conditions.push(
        `EXISTS (SELECT 1 FROM cases c WHERE NOT c.deleted AND c.doc -> 'attachments' @> ${ref}::jsonb AND ${caseScopeSql(scope, p, 'c.')})`,
      );
    } else {
      conditions.push(
        `EXISTS (SELECT 1 FROM documents d WHERE d.collection = ${p.add(collection)} AND NOT d.deleted
           AND d.doc -> 'attachments' @> ${ref}::jsonb AND ${documentScopeSql(collection, scope, p)})`,
      );
    }
  }
  const [row] = await db.query<{ readable: boolean }>(
    `SELECT (${conditions.join(' OR ')}) AS readable`,
    p.values,
  );
  return row?.readable === true;
}

export interface AttachmentBytes {
  contentType: string;
  bytes: Buffer;
}

export async function readAttachment(db: Queryable, sha256: string): Promise<AttachmentBytes | null> {
  const [row] = await db.query<{ content_type: string; bytes: Uint8Array }>(
    'SELECT content_type, bytes FROM attachments WHERE sha256 = $1',
    [sha256],
  );
  if (!row) return null;
  // `pg` answers a Buffer, PGlite a Uint8Array.
  const bytes = Buffer.isBuffer(row.bytes)
    ? row.bytes
    : Buffer.from(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength);
  return { contentType: row.content_type, bytes };
}
