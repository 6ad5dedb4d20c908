/**
 * The audit log: every accepted write (who, when, which install, which collection/document, and a
 * field diff) and every refused write with its reason. Written inside the push transaction, so an
 * entry exists exactly when the write (or the refusal) does.
 */
import type { Queryable } from './db/index.ts';
import { toNumber } from './db/index.ts';

export type AuditAction = 'create' | 'update' | 'delete' | 'refused';

export interface AuditEntry {
  id: number;
  at: number;
  userId: string;
  installId: string | null;
  collection: string;
  docId: string;
  action: AuditAction;
  /** Field → [before, after]; for a create, every field with before = null. */
  changes: Record<string, [unknown, unknown]> | null;
  code: string | null;
  message: string | null;
}

/** Fields that change on every write and say nothing about what the user did. */
const IGNORED = new Set(['serverUpdatedAt', 'acknowledgedUpdatedAt', '_deleted']);

export function fieldDiff(
  before: Record<string, unknown> | null,
  after: Record<string, unknown>,
): Record<string, [unknown, unknown]> {
  const diff: Record<string, [unknown, unknown]> = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  for (const key of keys) {
    if (IGNORED.has(key) || key.startsWith('_')) continue;
    const a = before?.[key] ?? null;
    const b = after[key] ?? null;
    if (JSON.stringify(a) !== JSON.stringify(b)) diff[key] = [a, b];
  }
  return diff;
}

export interface AuditActor {
  userId: string;
  installId: string | null;
}

export async function recordAudit(
  tx: Queryable,
  entry: {
    at: number;
    actor: AuditActor;
    collection: string;
    docId: string;
    action: AuditAction;
    changes?: Record<string, [unknown, unknown]> | null;
    code?: string | null;
    message?: string | null;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO audit_log (at, user_id, install_id, collection, doc_id, action, changes, code, message)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)`,
    [
      entry.at,
      entry.actor.userId,
      entry.actor.installId,
      entry.collection,
      entry.docId,
      entry.action,
      entry.changes ? JSON.stringify(entry.changes) : null,
      entry.code ?? null,
      entry.message ?? null,
    ],
  );
}

export interface AuditQuery {
  userId?: string | undefined;
  installId?: string | undefined;
  collection?: string | undefined;
  docId?: string | undefined;
  action?: AuditAction | undefined;
  from?: number | undefined;
  to?: number | undefined;
  /** Entries with an id below this (the previous page's `nextBefore`); newest first. */
  before?: number | undefined;
  limit: number;
}

export async function queryAudit(
  db: Queryable,
  q: AuditQuery,
): Promise<{ entries: AuditEntry[]; nextBefore: number | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (q.userId) add('user_id = ?', q.userId);
  if (q.installId) add('install_id = ?', q.installId);
  if (q.collection) add('collection = ?', q.collection);
  if (q.docId) add('doc_id = ?', q.docId);
  if (q.action) add('action = ?', q.action);
  if (q.from !== undefined) add('at >= ?', q.from);
  if (q.to !== undefined) add('at < ?', q.to);
  if (q.before !== undefined) add('id < ?', q.before);
  params.push(q.limit + 1);
  const rows = await db.query(
    `SELECT id, at, user_id, install_id, collection, doc_id, action, changes, code, message FROM audit_log
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  const entries = rows.slice(0, q.limit).map((r) => ({
    id: toNumber(r.id),
    at: toNumber(r.at),
    userId: String(r.user_id),
    installId: r.install_id == null ? null : String(r.install_id),
    collection: String(r.collection),
    docId: String(r.doc_id),
    action: r.action as AuditAction,
    changes: (r.changes as AuditEntry['changes']) ?? null,
    code: r.code == null ? null : String(r.code),
    message: r.message == null ? null : String(r.message),
  }));
  return { entries, nextBefore: rows.length > q.limit ? (entries.at(-1)?.id ?? null) : null };
}
