/**
 * A document that leaves a reader's scope by its own change (a case reassigned from one technician
 * to another, a merchant moved to another branch): the push records the document's scope columns
 * before the change at the change's stamp; a reader who could read those old columns and cannot
 * read the document now gets a tombstone `{ id, serverUpdatedAt: stamp, _deleted: true }` at sort
 * position (stamp, id) — on the pull and on the live stream. (A user's own scope change is
 * scope-changes.ts.)
 */
import type { CollectionName } from '@emdad/domain/model/index';
import type { ReplicationCheckpoint } from '@emdad/domain';
import type { Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';
import { caseScopeSql, documentScopeSql, SqlParams, type Scope } from './scope.ts';
import type { SortedRow } from './scope-changes.ts';

/** The columns scope conditions test, per table. */
const DOCUMENT_COLUMNS = ['owner_id', 'creator_id', 'region_id', 'branch_id', 'case_id'] as const;
const CASE_COLUMNS = ['branch_id', 'created_by', 'assignee_id', 'team_id'] as const;

export type ScopeColumnValues = Record<string, string | boolean | null>;

/** Records a move when any scope column changed; `before`/`after` hold the columns of each version. */
export async function recordScopeMove(
  tx: Queryable,
  collection: CollectionName,
  docId: string,
  stamp: number,
  before: ScopeColumnValues,
  after: ScopeColumnValues,
): Promise<void> {
  const changed = Object.keys(before).some((k) => (before[k] ?? null) !== (after[k] ?? null));
  if (!changed) return;
  await tx.query(
    'INSERT INTO scope_moves (collection, doc_id, stamp, previous) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING',
    [collection, docId, stamp, JSON.stringify(before)],
  );
}

function oldRow(collection: CollectionName): string {
  const columns =
    collection === 'cases'
      ? CASE_COLUMNS.map((c) => `(m.previous->>'${c}') AS ${c}`)
      : [
          ...DOCUMENT_COLUMNS.map((c) => `(m.previous->>'${c}') AS ${c}`),
          `COALESCE((m.previous->>'published')::boolean, TRUE) AS published`,
        ];
  return `LATERAL (SELECT m.doc_id AS id, ${columns.join(', ')}) d`;
}

function condition(collection: CollectionName, scope: Scope, p: SqlParams): string {
  return collection === 'cases' ? caseScopeSql(scope, p, 'd.') : documentScopeSql(collection, scope, p);
}

/**
 * Tombstones owed to the caller for documents that moved out of their scope, either after a
 * checkpoint (pull) or at exactly one stamp (stream).
 */
export async function moveTombstones(
  db: Queryable,
  collection: CollectionName,
  scope: Scope,
  where: { after: ReplicationCheckpoint | null; limit: number } | { stamp: number },
): Promise<SortedRow<Record<string, unknown> & { id: string }>[]> {
  if ('after' in where && !where.after) return []; // a fresh client never held anything
  const p = new SqlParams([collection]);
  const position =
    'stamp' in where
      ? `m.stamp = ${p.add(where.stamp)}`
      : `(m.stamp, m.doc_id) > (${p.add(where.after!.serverUpdatedAt)}::bigint, ${p.add(where.after!.id)}::text)`;
  const before = condition(collection, scope, p);
  const now = condition(collection, scope, p);
  const table = collection === 'cases' ? 'cases d' : 'documents d';
  const sameCollection = collection === 'cases' ? 'TRUE' : 'd.collection = $1';
  const limit = 'limit' in where ? `LIMIT ${p.add(where.limit)}` : '';
  // The inner `d` (the document now) shadows the outer `d` (its columns before the move).
  const rows = await db.query<{ stamp: unknown; doc_id: string }>(
    `SELECT m.stamp, m.doc_id FROM scope_moves m, ${oldRow(collection)}
     WHERE m.collection = $1 AND ${position} AND COALESCE((${before}), FALSE)
       AND NOT EXISTS (SELECT 1 FROM ${table} WHERE ${sameCollection} AND d.id = m.doc_id AND COALESCE((${now}), FALSE))
     ORDER BY m.stamp, m.doc_id ${limit}`,
    p.values,
  );
  return rows.map((r) => {
    const stamp = toNumber(r.stamp);
    return {
      key: { serverUpdatedAt: stamp, id: r.doc_id },
      doc: { id: r.doc_id, serverUpdatedAt: stamp, _deleted: true },
    };
  });
}

/** Merges two sorted row lists by sort key (ties: the first list first). */
export function mergeSorted<T>(a: SortedRow<T>[], b: SortedRow<T>[]): SortedRow<T>[] {
  const out: SortedRow<T>[] = [];
  let i = 0;
  let j = 0;
  const le = (x: ReplicationCheckpoint, y: ReplicationCheckpoint) =>
    x.serverUpdatedAt < y.serverUpdatedAt || (x.serverUpdatedAt === y.serverUpdatedAt && x.id <= y.id);
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x && (!y || le(x.key, y.key))) {
      out.push(x);
      i++;
    } else if (y) {
      out.push(y);
      j++;
    }
  }
  return out;
}
