/**
 * Scope changes (a technician moved to another region, a supervisor given another team): every
 * document that left the user's scope must leave their device at the next sync, and every document
 * that entered it must arrive, even though neither document itself changed (its serverUpdatedAt is
 * older than the client's checkpoint).
 *
 * Design: changing a user's scope records, per collection, the scope the user had before, stamped
 * with a fresh stamp S of that collection's clock. A pull whose checkpoint is older than S gets, at
 * sort position (S, id) among the ordinary documents:
 * - a tombstone `{ id, serverUpdatedAt: S, _deleted: true }` for each document in the old scope and
 *   not in the current one (only the id travels: nothing of a document the user may no longer read);
 * - the current version of each document in the current scope and not in the old one that sorts at
 *   or before the checkpoint (later ones come with the ordinary pull anyway), with its real
 *   serverUpdatedAt so the client's next push compares against the right master.
 * The checkpoint handed out is the sort position, so paging stays exact. A fresh client (no
 * checkpoint) needs neither: its ordinary pull already holds exactly its current scope.
 */
import { COLLECTION_NAMES, type CollectionName } from '@emdad/domain/model/index';
import type { ReplicationCheckpoint } from '@emdad/domain';
import type { Db, Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';
import { lockCollection, nextStamp } from './clock.ts';
import { SqlParams, type Scope } from './scope.ts';

/** Records that `previous` was the user's scope until now; returns the stamps taken per collection. */
export async function recordScopeChange(
  tx: Queryable,
  userId: string,
  previous: Scope,
  now: number,
): Promise<Record<string, number>> {
  const stamps: Record<string, number> = {};
  // Locks in registry order, the same order everywhere, so two scope changes never deadlock.
  for (const collection of COLLECTION_NAMES) {
    await lockCollection(tx, collection);
    const stamp = await nextStamp(tx, collection, now);
    stamps[collection] = stamp;
    await tx.query(
      'INSERT INTO scope_changes (user_id, collection, stamp, previous, at) VALUES ($1, $2, $3, $4::jsonb, $5)',
      [userId, collection, stamp, JSON.stringify(previous), now],
    );
  }
  return stamps;
}

export interface SortedRow<T> {
  key: ReplicationCheckpoint;
  doc: T;
}

export interface VirtualRowSource {
  /** `FROM ... d WHERE <this>` restricting to the collection (e.g. `d.collection = $1`), or TRUE. */
  table: string;
  collectionFilter: (p: SqlParams) => string;
  condition: (scope: Scope, p: SqlParams) => string;
  /** Turns a row of `SELECT d.id, d.doc, d.server_updated_at, d.deleted` into a wire document. */
  toWire: (row: Record<string, unknown>) => Record<string, unknown> & { id: string };
}

export function afterKey(a: ReplicationCheckpoint, b: ReplicationCheckpoint | null): boolean {
  if (!b) return true;
  return a.serverUpdatedAt > b.serverUpdatedAt || (a.serverUpdatedAt === b.serverUpdatedAt && a.id > b.id);
}

/** Tombstones and entered documents owed to this caller after `checkpoint`, sorted, at most `limit`. */
export async function scopeChangeRows(
  db: Queryable,
  collection: CollectionName,
  source: VirtualRowSource,
  scope: Scope,
  checkpoint: ReplicationCheckpoint | null,
  limit: number,
): Promise<SortedRow<Record<string, unknown> & { id: string }>[]> {
  if (!checkpoint) return [];
  const changes = await db.query<{ stamp: unknown; previous: Scope }>(
    'SELECT stamp, previous FROM scope_changes WHERE user_id = $1 AND collection = $2 AND stamp >= $3 ORDER BY stamp',
    [scope.userId, collection, checkpoint.serverUpdatedAt],
  );
  const out: SortedRow<Record<string, unknown> & { id: string }>[] = [];
  for (const change of changes) {
    const stamp = toNumber(change.stamp);
    const after = stamp === checkpoint.serverUpdatedAt ? checkpoint.id : '';
    const p = new SqlParams();
    const filter = source.collectionFilter(p);
    const before = `COALESCE((${source.condition(change.previous, p)}), FALSE)`;
    const now = `COALESCE((${source.condition(scope, p)}), FALSE)`;
    const afterParam = p.add(after);
    const cpStamp = p.add(checkpoint.serverUpdatedAt);
    const cpId = p.add(checkpoint.id);
    const limitParam = p.add(limit);
    const rows = await db.query(
      `SELECT d.id, d.doc, d.server_updated_at, d.deleted, (${now}) AS entered FROM ${source.table} d
       WHERE ${filter} AND d.id > ${afterParam}
         AND ((${before} AND NOT ${now})
              OR (${now} AND NOT ${before} AND (d.server_updated_at, d.id) <= (${cpStamp}::bigint, ${cpId}::text)))
       ORDER BY d.id LIMIT ${limitParam}`,
      p.values,
    );
    for (const row of rows) {
      const id = String(row.id);
      const doc = row.entered ? source.toWire(row) : { id, serverUpdatedAt: stamp, _deleted: true };
      out.push({ key: { serverUpdatedAt: stamp, id }, doc });
    }
  }
  // Several changes since the checkpoint may owe the same document: the first one delivers it.
  const seen = new Set<string>();
  const unique = out.filter((row) => (seen.has(row.key.id) ? false : (seen.add(row.key.id), true)));
  unique.sort((a, b) =>
    a.key.serverUpdatedAt !== b.key.serverUpdatedAt
      ? a.key.serverUpdatedAt - b.key.serverUpdatedAt
      : a.key.id < b.key.id
        ? -1
        : a.key.id > b.key.id
          ? 1
          : 0,
  );
  return unique.slice(0, limit);
}

/** Merges two sorted streams and keeps the first `limit`; the checkpoint is the last sort key. */
export function mergePage<T>(
  ordinary: SortedRow<T>[],
  owed: SortedRow<T>[],
  limit: number,
  checkpoint: ReplicationCheckpoint | null,
): { documents: T[]; checkpoint: ReplicationCheckpoint | null } {
  const merged: SortedRow<T>[] = [];
  let i = 0;
  let j = 0;
  while (merged.length < limit && (i < ordinary.length || j < owed.length)) {
    const a = ordinary[i];
    const b = owed[j];
    if (a && (!b || !afterKey(a.key, b.key))) {
      merged.push(a);
      i++;
    } else if (b) {
      merged.push(b);
      j++;
    }
  }
  return { documents: merged.map((r) => r.doc), checkpoint: merged.at(-1)?.key ?? checkpoint };
}

export type { Db };
