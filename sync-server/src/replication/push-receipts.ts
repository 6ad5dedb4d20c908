/**
 * Push receipts (migrations 4 and 11): per install and document, what the server last accepted from
 * that install — the hash of its client fields (a resend after a lost answer is recognised as the
 * retry it is), those fields themselves and the stamp of the version they made. A stale push whose
 * assumed master is older than that stamp descends from the install's own accepted content, which is
 * then the right base for the three-way merge (cases.ts, documents.ts).
 */
import type { Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';

export interface PushReceipt {
  hash: string;
  /** The accepted client fields and `_deleted`; null for a receipt written before migration 11. */
  content: Record<string, unknown> | null;
  /** The stamp of the version that push made; null before migration 11. */
  stamp: number | null;
}

export function receiptOf(row: {
  content_hash: string;
  content: unknown;
  server_updated_at: unknown;
}): PushReceipt {
  const content = typeof row.content === 'string' ? (JSON.parse(row.content) as unknown) : row.content;
  return {
    hash: row.content_hash,
    content: content && typeof content === 'object' ? (content as Record<string, unknown>) : null,
    stamp: row.server_updated_at == null ? null : toNumber(row.server_updated_at),
  };
}

/**
 * The base a stale push descends from when the install's own accepted content (its receipt) is newer
 * than the master the push assumes: that content, for the server's three-way merge. Null otherwise
 * (no receipt, one from before migration 11, or an assumed master at least as new).
 */
export function ownAcceptedBase(
  receipt: PushReceipt | undefined,
  assumedMasterState: Readonly<Record<string, unknown>> | null | undefined,
): Record<string, unknown> | null {
  if (!receipt?.content || receipt.stamp === null) return null;
  const claimed = assumedMasterState?.serverUpdatedAt;
  return (typeof claimed === 'number' ? claimed : -1) < receipt.stamp ? receipt.content : null;
}

/** What a receipt keeps of a pushed document: its client fields and deletion flag. */
export function receiptContent(
  clientFields: readonly string[],
  pushed: Record<string, unknown>,
): Record<string, unknown> {
  const content: Record<string, unknown> = { _deleted: Boolean(pushed._deleted) };
  for (const field of clientFields) content[field] = pushed[field] ?? null;
  return content;
}

export async function loadReceipts(
  tx: Queryable,
  installId: string,
  collection: string,
  ids: readonly string[],
): Promise<Map<string, PushReceipt>> {
  const receipts = new Map<string, PushReceipt>();
  if (ids.length === 0) return receipts;
  const found = await tx.query<{
    doc_id: string;
    content_hash: string;
    content: unknown;
    server_updated_at: unknown;
  }>(
    `SELECT doc_id, content_hash, content, server_updated_at FROM push_receipts
     WHERE install_id = $1 AND collection = $2 AND doc_id = ANY($3::text[])`,
    [installId, collection, ids],
  );
  for (const row of found) receipts.set(row.doc_id, receiptOf(row));
  return receipts;
}

export async function saveReceipt(
  tx: Queryable,
  receipt: { installId: string; collection: string; docId: string; at: number } & PushReceipt,
): Promise<void> {
  await tx.query(
    `INSERT INTO push_receipts (install_id, collection, doc_id, content_hash, accepted_at, content, server_updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
     ON CONFLICT (install_id, collection, doc_id) DO UPDATE SET content_hash = EXCLUDED.content_hash,
       accepted_at = EXCLUDED.accepted_at, content = EXCLUDED.content, server_updated_at = EXCLUDED.server_updated_at`,
    [
      receipt.installId,
      receipt.collection,
      receipt.docId,
      receipt.hash,
      receipt.at,
      receipt.content === null ? null : JSON.stringify(receipt.content),
      receipt.stamp,
    ],
  );
}
