/**
 * Keeps attachment bytes on the device when a pulled document replaces the local one.
 *
 * Why: the server's replication carries documents without RxDB's `_attachments` (the bytes travel
 * through /api/attachments). RxDB's downstream writes a pulled document with the master's
 * `_attachments` — `{}` here — which would delete every local attachment, including receipts not
 * uploaded yet. This storage wrapper puts the stored attachment stubs back on any write that drops
 * an attachment the new document still lists in its `attachments` references. The bytes are not
 * touched (a stub whose id the stored document has needs no data). An attachment whose reference
 * was removed, or a deleted document, loses its bytes as RxDB intends.
 *
 * It is an RxDB plugin on the storage writes (registered in attachments/rxdb.ts) rather than a
 * change to the replication, so it holds for every collection with attachments, the pull, the live
 * stream and conflict resolution alike.
 */
import type { BulkWriteRow, RxDocumentData, RxPlugin } from 'rxdb';
import { hasAttachmentRefs } from './schema.ts';

type AttachmentStubs = Record<string, { digest: string; length: number; type: string; data?: unknown }>;
type AnyDoc = RxDocumentData<Record<string, unknown>> & { _attachments: AttachmentStubs };

function referencedIds(doc: Record<string, unknown>): string[] {
  const refs = doc.attachments;
  if (!Array.isArray(refs)) return [];
  return refs
    .map((r) => (r && typeof r === 'object' ? (r as { sha256?: unknown }).sha256 : undefined))
    .filter((id): id is string => typeof id === 'string');
}

/** The write row with the previous stubs of still-referenced attachments carried over (or itself). */
export function keepReferencedAttachmentsInRow<T>(row: BulkWriteRow<T>): BulkWriteRow<T> {
  const previous = row.previous as unknown as AnyDoc | undefined;
  const document = row.document as unknown as AnyDoc;
  if (!previous || document._deleted) return row;
  const before = previous._attachments;
  if (!before || Object.keys(before).length === 0) return row;
  const after = document._attachments ?? {};
  let kept: AttachmentStubs | null = null;
  for (const id of referencedIds(document)) {
    const stub = before[id];
    if (after[id] || !stub) continue;
    kept ??= { ...after };
    kept[id] = { digest: stub.digest, length: stub.length, type: stub.type };
  }
  if (!kept) return row;
  return { ...row, document: { ...document, _attachments: kept } as unknown as RxDocumentData<T> };
}

/**
 * RxDB plugin: runs `keepReferencedAttachmentsInRow` on every storage write of a collection whose
 * schema stores attachments and lists attachment references (RxDB's `preStorageWrite` hook sees the
 * writes of the replication, the live stream and conflict resolution alike).
 */
export const RxDBKeepReferencedAttachmentsPlugin: RxPlugin = {
  name: 'emdad-keep-referenced-attachments',
  rxdb: true,
  hooks: {
    preStorageWrite: {
      after: (input: { storageInstance: { schema: unknown }; rows: BulkWriteRow<unknown>[] }) => {
        const schema = input.storageInstance.schema as {
          attachments?: unknown;
          properties?: Record<string, unknown>;
        };
        if (
          !schema.attachments ||
          !schema.properties ||
          !hasAttachmentRefs({ properties: schema.properties })
        )
          return;
        for (let i = 0; i < input.rows.length; i++)
          input.rows[i] = keepReferencedAttachmentsInRow(input.rows[i]!);
      },
    },
  },
};
